import { Client, DatabaseError } from 'pg';
import type { AppConfig } from '../config/app-config';
import { describeFailure, retryStartup } from '../host/startup-retry';
import { EmbeddedPostgresServer } from './embedded-postgres-server';

/** The PostgreSQL server the app uses: the one in DATABASE_URL, or an embedded one it owns. */
export interface DatabaseServer {
  /** The application database (host, port, name); modules connect to it with their own roles. */
  readonly url: string;
  /** An admin connection to it, when the app may provision and migrate (embedded, or DATABASE_ADMIN_URL). */
  readonly adminUrl?: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
  /** Exits that cannot wait (a drain that timed out, a second signal): ask an embedded server to stop, without waiting. */
  stopNow(): void;
}

const EMBEDDED_DATABASE = 'monolith';

/**
 * The server in DATABASE_URL, or an embedded one under DATA_DIR/<folder> with `database` in it. An extracted service
 * passes its own URL, database and folder, so it never shares the monolith's embedded server. An external server is
 * waited for (STARTUP_RETRY_MS) until it accepts a connection.
 */
export async function startDatabaseServer(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DATA_DIR' | 'EMBEDDED_PG_PORT'> &
    Partial<Pick<AppConfig, 'STARTUP_RETRY_MS'>> & { DATABASE_ADMIN_URL?: string },
  database = EMBEDDED_DATABASE,
  folder = 'postgres',
): Promise<DatabaseServer> {
  if (config.DATABASE_URL) {
    // With the admin URL its credentials are checked too; DATABASE_URL alone may carry none (modules log in with their
    // own), so there an authentication answer means the server is up.
    await waitForDatabase(config.DATABASE_ADMIN_URL ?? config.DATABASE_URL, config.STARTUP_RETRY_MS ?? 0, !config.DATABASE_ADMIN_URL);
    return {
      url: config.DATABASE_URL,
      adminUrl: config.DATABASE_ADMIN_URL,
      embedded: false,
      stop: () => Promise.resolve(),
      stopNow: () => undefined,
    };
  }
  const server = new EmbeddedPostgresServer({ dataDir: `${config.DATA_DIR}/${folder}`, port: config.EMBEDDED_PG_PORT });
  await server.start();
  const url = new URL(server.adminUrl);
  await ensureDatabase(url.toString(), database).catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  url.pathname = `/${database}`;
  return { url: url.toString(), adminUrl: url.toString(), embedded: true, stop: () => server.stop(), stopNow: () => server.stopNow() };
}

/**
 * Connects to `url` until the server takes the connection, for up to `retryMs`. Only a server that cannot be reached
 * or is still starting (57P03) is waited for; one that answers with an error (a wrong password, a missing
 * database) fails at once. The final error names the server (without its password) and what to do.
 */
export async function waitForDatabase(url: string, retryMs: number, reachabilityOnly = false): Promise<void> {
  const redacted = new URL(url); // for messages: the server, without its password
  if (redacted.password) redacted.password = '***';
  const where = redacted.toString();
  try {
    await retryStartup(
      `PostgreSQL at ${where}`,
      async () => {
        const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
        client.on('error', () => undefined); // a connection lost after the check is not this function's concern
        try {
          await client.connect();
          await client.query('SELECT 1');
        } catch (error) {
          // It answered: it refused these credentials (28xxx), or asked for a password the URL does not carry (the serving
          // app's DATABASE_URL has none: its modules log in with their own).
          if (reachabilityOnly && error instanceof DatabaseError && error.code?.startsWith('28')) return;
          if (reachabilityOnly && !(error instanceof DatabaseError) && /password/i.test((error as Error).message)) return;
          throw error;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      {
        retryMs,
        // 57P03: starting up. A password problem found by the client (none given, say) does not pass either.
        retryable: (error) => (error instanceof DatabaseError ? error.code === '57P03' : !/password/i.test(error.message)),
      },
    );
  } catch (error) {
    const reason = describeFailure(error);
    const waited =
      retryMs > 0 && !(error instanceof DatabaseError) && !/password/i.test(describeFailure(error))
        ? ` after trying for ${retryMs / 1000} s`
        : '';
    throw new Error(
      `PostgreSQL at ${where} did not accept a connection${waited}: ${reason}. Check that the server runs and that ` +
        `DATABASE_URL (or <MODULE>_DATABASE_URL for a module's service) is right, or set STARTUP_RETRY_MS to wait longer, and start again.`,
      { cause: error },
    );
  }
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
