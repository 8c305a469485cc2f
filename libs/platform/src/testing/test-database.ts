import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { TEST_MODULE_DB_SECRET } from '../config/app-config';
import type { DatabaseConnectionSettings } from '../database/module-data-source';

/** Set by the Jest global setup: a server URL (DATABASE_URL, or the embedded server it started). */
export const TEST_SERVER_ENV = 'MONOLITH_FIRST_TEST_PG_URL';

export interface TestDatabase {
  settings: DatabaseConnectionSettings;
  /** Admin URL of this test's own database. */
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test file, on the test server. Parallel test files never share data. */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const serverUrl = process.env[TEST_SERVER_ENV];
  if (!serverUrl) throw new Error(`${TEST_SERVER_ENV} is not set: run tests through jest (its globalSetup starts PostgreSQL).`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    settings: { adminUrl: url.toString(), roleSecret: TEST_MODULE_DB_SECRET },
    drop: async () => {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      await c.end();
    },
  };
}
