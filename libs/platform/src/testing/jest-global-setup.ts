import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmbeddedPostgresServer } from '../database/embedded-postgres-server';
import { freePort } from './free-port';
import { TEST_REDIS_ENV, TEST_REDIS_MISSING_ENV, probeRedis, testRedisUrl } from './redis';
import { TEST_SERVER_ENV } from './test-database';

declare global {
  var __embeddedPostgres: { server: EmbeddedPostgresServer; dir: string } | undefined;
}

/**
 * Jest globalSetup: use DATABASE_URL when set, otherwise start a throwaway embedded PostgreSQL. Probe Redis (REDIS_URL
 * or 127.0.0.1:6379) for the suites that need it (describeWithRedis).
 */
export default async function globalSetup(): Promise<void> {
  const missing = await probeRedis(testRedisUrl());
  if (missing === null) process.env[TEST_REDIS_ENV] = testRedisUrl();
  else process.env[TEST_REDIS_MISSING_ENV] = missing;
  if (process.env.DATABASE_URL) {
    process.env[TEST_SERVER_ENV] = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'monolith-first-test-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as the 'postgres' user, which must enter it
  const server = new EmbeddedPostgresServer({ dataDir: path.join(dir, 'pg'), port: await freePort() });
  await server.start();
  globalThis.__embeddedPostgres = { server, dir };
  process.env[TEST_SERVER_ENV] = server.adminUrl;
}

export async function globalTeardown(): Promise<void> {
  const embedded = globalThis.__embeddedPostgres;
  if (!embedded) return;
  await embedded.server.stop();
  rmSync(embedded.dir, { recursive: true, force: true });
}
