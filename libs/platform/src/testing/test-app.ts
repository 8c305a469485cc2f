import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureHttp } from '../http/configure-http';
import { PlatformModule, type PlatformOptions } from '../platform.module';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface TestApp {
  app: INestApplication;
  db: TestDatabase;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Authentication (default: AUTH_MODE=off). */
  auth?: PlatformOptions['auth'];
  /** Runs before init(), as a host does before it serves: e.g. serveOpenApi(app, ...). */
  beforeInit?: (app: INestApplication) => void;
  /** Metrics, tracing and request logs (default: metrics on, no request log lines, tracing if started). */
  observability?: PlatformOptions['observability'];
  /** Nest's logger (default: its console logger, errors and warnings only). */
  logger?: LoggerService;
}

/** The admin token of test apps (send it as `Authorization: Bearer ...` to the admin endpoints). Public, like every test value. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Messaging settings for tests: relays poll and retry within milliseconds, so nothing waits for seconds. ADMIN_TOKEN is TEST_ADMIN_TOKEN. */
export const FAST_MESSAGING: NonNullable<PlatformOptions['messaging']> = {
  relay: { pollIntervalMs: 20, leaseMs: 5_000, retry: { baseMs: 10, capMs: 100, maxAttempts: 5 } },
  adminToken: TEST_ADMIN_TOKEN,
};

/**
 * Boots the given modules alone on the platform, against a fresh database (or `db`), ready for supertest.
 * Messaging defaults to FAST_MESSAGING; authentication to AUTH_MODE=off.
 */
export async function createTestApp(
  imports: NonNullable<ModuleMetadata['imports']>,
  db?: TestDatabase,
  messaging: PlatformOptions['messaging'] = FAST_MESSAGING,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const { auth, observability = { logRequests: false } } = options;
  const database = db ?? (await createTestDatabase());
  const moduleRef = await Test.createTestingModule({
    imports: [PlatformModule.forRoot({ database: database.settings, messaging, auth, observability }), ...imports],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: options.logger ?? ['error', 'warn'] });
  configureHttp(app);
  options.beforeInit?.(app);
  try {
    await app.init();
  } catch (error) {
    // an app that refuses to start must not leave its connections (or its database) behind
    await app.close().catch(() => undefined);
    if (!db) await database.drop().catch(() => undefined);
    throw error;
  }
  return {
    app,
    db: database,
    close: async () => {
      await app.close();
      if (!db) await database.drop();
    },
  };
}
