// Shared setup of the messaging specs (not part of the public API).
import type { LoggerService } from '@nestjs/common';
import { z } from 'zod';
import { openModuleDb } from '../database/module-database';
import type { ModuleDb } from '../database/module-db';
import { type TestDatabase, createTestDatabase } from '../testing/test-database';
import { DeliveryGate } from './core/delivery-gate';
import { MessageDispatcher } from './core/dispatcher';
import type { HandlerRegistry } from './core/handlers';
import { messagingMigrations } from './core/migrations';
import { Outbox } from './core/outbox';
import { RelayPresence } from './core/presence';
import { OutboxRelay } from './core/relay';
import type { RelayOptionsInput } from './core/relay-options';
import { InProcessTransport } from './transports/in-process';
import type { MessageTransport } from './transports/transport';

export const MIGRATIONS_AT = 1_767_225_600_000;

export function openMessagingModule(db: TestDatabase, name: string, poolSize = 8): Promise<ModuleDb> {
  return openModuleDb({ ...db.settings, poolSize }, { name, migrations: messagingMigrations(MIGRATIONS_AT) });
}

export interface MessagingTestDatabase {
  db: TestDatabase;
  alpha: ModuleDb;
  beta: ModuleDb;
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
    await t.alpha?.pool.end();
    await t.beta?.pool.end();
    await t.db?.drop();
  });
  return t as MessagingTestDatabase;
}

/** Short intervals so nothing in a test waits for seconds. */
export const FAST: RelayOptionsInput = {
  pollIntervalMs: 10,
  batchSize: 50,
  leaseMs: 10_000,
  markDelayMs: 1,
  retry: { baseMs: 5, capMs: 20, maxAttempts: 5 },
};

/**
 * The messaging of one process over alpha and beta: their outboxes, a dispatcher over `registry`, one delivery gate,
 * one presence and a relay per module (started by `start`, stopped by `stop`).
 */
export class MessagingStack {
  readonly gate: DeliveryGate;
  readonly presence: RelayPresence;
  readonly outboxes: Record<string, Outbox>;
  readonly dispatcher: MessageDispatcher;
  readonly transport: MessageTransport;
  readonly relays: Record<string, OutboxRelay> = {};

  constructor(
    private readonly dbs: Record<string, ModuleDb>,
    registry: HandlerRegistry,
    private readonly options: { relay?: RelayOptionsInput; transport?: MessageTransport; logger?: LoggerService; slots?: number } = {},
  ) {
    this.gate = new DeliveryGate(options.slots ?? 8);
    this.presence = new RelayPresence(options.logger);
    this.outboxes = Object.fromEntries(Object.keys(dbs).map((m) => [m, new Outbox(m)]));
    this.dispatcher = new MessageDispatcher(
      registry,
      (m) => this.dbs[m],
      (m) => this.outboxes[m],
      options.logger,
    );
    this.transport = options.transport ?? new InProcessTransport(this.dispatcher);
  }

  relay(module: string, overrides: RelayOptionsInput = {}): OutboxRelay {
    this.relays[module] ??= new OutboxRelay({
      module,
      db: this.dbs[module],
      outbox: this.outboxes[module],
      transport: this.transport,
      gate: this.gate,
      presence: this.presence,
      options: { ...FAST, ...this.options.relay, ...overrides },
      logger: this.options.logger,
    });
    return this.relays[module];
  }

  async start(...modules: string[]): Promise<this> {
    for (const m of modules) await this.relay(m).start();
    return this;
  }

  async stop(): Promise<void> {
    for (const relay of Object.values(this.relays)) await relay.stop();
    await this.presence.stop();
  }
}

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
