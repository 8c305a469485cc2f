import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { TEST_MODULE_DB_SECRET } from '../config/app-config';
import type { DatabaseConnectionSettings } from '../database/module-database';

/** Set by the Jest global setup: a server URL (DATABASE_URL, or the embedded server it started). */
export const TEST_SERVER_ENV = 'MONOLITH_FIRST_TEST_PG_URL';

export interface TestDatabase {
  settings: DatabaseConnectionSettings & { adminUrl: string; rolePrefix: string };
  /** Admin URL of this test's own database. */
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file, on the test server, with its own role prefix. Parallel test files never
 * share data or roles; `drop()` removes the database and the roles its modules created.
 */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const serverUrl = process.env[TEST_SERVER_ENV];
  if (!serverUrl) throw new Error(`${TEST_SERVER_ENV} is not set: run tests through jest (its globalSetup starts PostgreSQL).`);
  const id = randomBytes(6).toString('hex');
  const name = `${prefix}_${id}`;
  const rolePrefix = `t_${id}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // Tests hold many transactions open at once (races, barriers): a larger pool than the production default of 3.
    settings: { url: url.toString(), adminUrl: url.toString(), roleSecret: TEST_MODULE_DB_SECRET, rolePrefix, poolSize: 10 },
    drop: async () => {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
        const { rows } = await c.query<{ rolname: string }>(
          `SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY length(rolname) DESC`,
          [`${rolePrefix}\\_%`],
        );
        for (const { rolname } of rows) await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(rolname)}`).catch(() => undefined);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * The environment of a built app (a child process) on this test database: its URL, an admin URL (so the app migrates
 * at start), the secret and the role prefix (so drop() removes the roles it creates). `prefix`: e.g. `BILLING_` for
 * apps/billing-service.
 */
export function appDatabaseEnv(db: TestDatabase, prefix = ''): Record<string, string> {
  return {
    [`${prefix}DATABASE_URL`]: db.url,
    [`${prefix}DATABASE_ADMIN_URL`]: db.url,
    [`${prefix}DB_ROLE_PREFIX`]: db.settings.rolePrefix,
    MODULE_DB_SECRET: db.settings.roleSecret,
  };
}
