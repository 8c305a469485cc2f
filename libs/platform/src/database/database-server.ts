import { Client } from 'pg';
import type { AppConfig } from '../config/app-config';
import { EmbeddedPostgresServer } from './embedded-postgres-server';

/** The PostgreSQL server the app uses: the one in DATABASE_URL, or an embedded one it owns. */
export interface DatabaseServer {
  /** Admin connection to the application database. */
  readonly adminUrl: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
  /** Exits that cannot wait (a drain that timed out, a second signal): ask an embedded server to stop, without waiting. */
  stopNow(): void;
}

const EMBEDDED_DATABASE = 'monolith';

/**
 * The server in DATABASE_URL, or an embedded one under DATA_DIR/<folder> with `database` in it. An extracted service
 * passes its own URL, database and folder, so it never shares the monolith's embedded server.
 */
export async function startDatabaseServer(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DATA_DIR' | 'EMBEDDED_PG_PORT'>,
  database = EMBEDDED_DATABASE,
  folder = 'postgres',
): Promise<DatabaseServer> {
  if (config.DATABASE_URL) {
    return { adminUrl: config.DATABASE_URL, embedded: false, stop: () => Promise.resolve(), stopNow: () => undefined };
  }
  const server = new EmbeddedPostgresServer({ dataDir: `${config.DATA_DIR}/${folder}`, port: config.EMBEDDED_PG_PORT });
  await server.start();
  const url = new URL(server.adminUrl);
  await ensureDatabase(url.toString(), database).catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  url.pathname = `/${database}`;
  return { adminUrl: url.toString(), embedded: true, stop: () => server.stop(), stopNow: () => server.stopNow() };
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
