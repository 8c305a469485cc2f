// What the relay's benchmark runs on: a scratch database of its own on the given server, a producer module
// (orders' place) and a consumer module (billing's place), and a relay between them with the project's defaults.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { z } from 'zod';
import { openModuleDb } from '../../database/module-database';
import type { ModuleDb } from '../../database/module-db';
import { DeliveryGate } from '../core/delivery-gate';
import { MessageDispatcher } from '../core/dispatcher';
import { HandlerRegistry } from '../core/handlers';
import { messagingMigrations } from '../core/migrations';
import { Outbox } from '../core/outbox';
import { RelayPresence } from '../core/presence';
import { OutboxRelay } from '../core/relay';
import type { RelayOptionsInput } from '../core/relay-options';
import { InProcessTransport } from '../transports/in-process';

export const Tick = { type: 'bench.tick.v1', schema: z.object({ i: z.number().int() }) } as const;

/**
 * The project's defaults: DB_CONNECTIONS 12 shared by the modules of a host (5 each for two), MessagingModule's 16
 * deliveries at once, the relay's default options.
 */
export const RELAY_DEFAULTS = { poolSize: 5, slots: 16, relay: {} as RelayOptionsInput };
export type RelaySettings = typeof RELAY_DEFAULTS;

const PRODUCER = 'bench_orders';
const CONSUMER = 'bench_billing';

export interface RelayFixture {
  database: string;
  producer: ModuleDb;
  outbox: Outbox;
  /** A relay whose consumer calls `onHandle(i)` first thing in its transaction, for message `i`. */
  relay(onHandle: (i: number) => void): { start(): Promise<void>; stop(): Promise<void> };
  /** The PostgreSQL backends serving the scratch database. */
  backendPids(): Promise<number[]>;
  /** Messages the outbox still holds (delivered ones are deleted). */
  pending(): Promise<number>;
  /** Errors and warnings the relay logged: a healthy run has none. */
  errors: string[];
  close(): Promise<void>;
}

/** Creates `outbox_bench_<random>` on the server at `serverUrl` (a role that may create databases and roles). */
export async function openRelayFixture(serverUrl: string, settings: RelaySettings): Promise<RelayFixture> {
  const id = randomBytes(5).toString('hex');
  const dbName = `outbox_bench_${id}`;
  const rolePrefix = `obench_${id}`;
  const admin = new Client({ connectionString: serverUrl, application_name: 'outbox-bench:admin' });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(dbName)}`);
  const opened: ModuleDb[] = [];
  const errors: string[] = [];
  const logger = {
    log: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
    warn: (m: unknown) => void errors.push(`warning: ${String(m)}`),
    error: (m: unknown) => void errors.push(String(m)),
  };
  const close = async () => {
    for (const db of opened) await db.pool.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(dbName)} WITH (FORCE)`);
    const roles = await admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY length(rolname) DESC`,
      [`${rolePrefix}\\_%`],
    );
    for (const { rolname } of roles.rows)
      await admin.query(`DROP ROLE IF EXISTS ${admin.escapeIdentifier(rolname)}`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  };
  try {
    const url = new URL(serverUrl);
    url.pathname = `/${dbName}`;
    const connection = {
      url: url.toString(),
      adminUrl: url.toString(),
      roleSecret: `bench-${id}`,
      rolePrefix,
      poolSize: settings.poolSize,
    };
    const open = async (name: string) => {
      const db = await openModuleDb(connection, { name, migrations: messagingMigrations(1_767_225_600_000) });
      opened.push(db);
      return db;
    };
    const producer = await open(PRODUCER);
    const consumer = await open(CONSUMER);
    const outbox = new Outbox(PRODUCER);
    const consumerOutbox = new Outbox(CONSUMER);
    return {
      database: dbName,
      producer,
      outbox,
      errors,
      close,
      backendPids: async () =>
        (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [dbName])).rows.map((r) => r.pid),
      pending: async () => (await producer.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox`))[0].n,
      relay: (onHandle) => {
        const registry = new HandlerRegistry().add({
          consumer: `${CONSUMER}:Bench.tick`,
          module: CONSUMER,
          contract: Tick,
          handle: (p) => onHandle(p.i),
        });
        const dispatcher = new MessageDispatcher(
          registry,
          (m) => (m === CONSUMER ? consumer : producer),
          (m) => (m === CONSUMER ? consumerOutbox : outbox),
          logger,
        );
        const presence = new RelayPresence(logger);
        const relay = new OutboxRelay({
          module: PRODUCER,
          db: producer,
          outbox,
          transport: new InProcessTransport(dispatcher),
          gate: new DeliveryGate(settings.slots),
          presence,
          options: settings.relay,
          logger,
        });
        return { start: () => relay.start(), stop: async () => (await relay.stop(), await presence.stop()) };
      },
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
