// Shared setup of the messaging specs (not part of the public API).
import type { LoggerService } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { openModuleDataSource } from '../database/module-data-source';
import { type TestDatabase, createTestDatabase } from '../testing/test-database';
import { messagingMigrations } from './migrations';
import type { RelayOptionsInput } from './relay';

export const MIGRATIONS_AT = 1_767_225_600_000;

export function openMessagingModule(db: TestDatabase, name: string): Promise<DataSource> {
  return openModuleDataSource(db.settings, { name, entities: [], migrations: messagingMigrations(MIGRATIONS_AT), poolSize: 12 });
}

export interface MessagingTestDatabase {
  db: TestDatabase;
  alpha: DataSource;
  beta: DataSource;
}

/**
 * Registers the spec's beforeAll/afterAll: a fresh database with modules alpha and beta (messaging tables
 * only), closed and dropped after the spec. The fields are set once beforeAll has run.
 */
export function messagingTestDatabase(name: string): MessagingTestDatabase {
  const t = {} as Partial<MessagingTestDatabase>;
  beforeAll(async () => {
    t.db = await createTestDatabase(name);
    t.alpha = await openMessagingModule(t.db, 'alpha');
    t.beta = await openMessagingModule(t.db, 'beta');
  });
  afterAll(async () => {
    await t.alpha?.destroy();
    await t.beta?.destroy();
    await t.db?.drop();
  });
  return t as MessagingTestDatabase;
}

/** Short intervals so nothing in a test waits for seconds. */
export const FAST: RelayOptionsInput = {
  pollIntervalMs: 10,
  batchSize: 50,
  concurrency: 8,
  leaseMs: 10_000,
  retry: { baseMs: 5, capMs: 20, maxAttempts: 5 },
};

export const PaymentRequested = {
  type: 'alpha.payment-requested.v1',
  schema: z.object({ orderId: z.uuid(), amountCents: z.number().int().positive() }),
} as const;

export const Note = { type: 'alpha.note.v1', schema: z.object({ n: z.number().int() }) } as const;

export const PaymentCaptured = { type: 'beta.payment-captured.v1', schema: z.object({ orderId: z.uuid() }) } as const;

/** Collects log lines instead of printing them; tests may assert on them. */
export function recordingLogger(): LoggerService & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (message: unknown) => void lines.push(`${level}: ${String(message)}`);
  return { lines, log: add('log'), warn: add('warn'), error: add('error'), debug: add('debug'), verbose: add('verbose') };
}

/** Polls until `check` returns a truthy value (which it returns), failing after a generous timeout. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
