import { Client } from 'pg';
import type { AppConfig } from '../config/app-config';
import { EmbeddedPostgresServer } from './embedded-postgres-server';

/** The PostgreSQL server the app uses: the one in DATABASE_URL, or an embedded one it owns. */
export interface DatabaseServer {
  /** The application database (host, port, name); modules connect to it with their own roles. */
  readonly url: string;
  /** An admin connection to it, when the app may provision and migrate (embedded, or DATABASE_ADMIN_URL). */
  readonly adminUrl?: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
}

const EMBEDDED_DATABASE = 'monolith';

/**
 * The server in DATABASE_URL, or an embedded one under DATA_DIR/<folder> with `database` in it. An extracted service
 * passes its own URL, database and folder, so it never shares the monolith's embedded server.
 */
export async function startDatabaseServer(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DATA_DIR' | 'EMBEDDED_PG_PORT'> & { DATABASE_ADMIN_URL?: string },
  database = EMBEDDED_DATABASE,
  folder = 'postgres',
): Promise<DatabaseServer> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, adminUrl: config.DATABASE_ADMIN_URL, embedded: false, stop: () => Promise.resolve() };
  }
  const server = new EmbeddedPostgresServer({ dataDir: `${config.DATA_DIR}/${folder}`, port: config.EMBEDDED_PG_PORT });
  await server.start();
  const url = new URL(server.adminUrl);
  await ensureDatabase(url.toString(), database);
  url.pathname = `/${database}`;
  return { url: url.toString(), adminUrl: url.toString(), embedded: true, stop: () => server.stop() };
}

/** Creates the database if it is missing (CREATE DATABASE has no IF NOT EXISTS). */
export async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created meanwhile by someone else
      });
    }
  } finally {
    await client.end();
  }
}
