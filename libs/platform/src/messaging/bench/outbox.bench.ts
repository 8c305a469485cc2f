/**
 * Outbox relay benchmark: `main()` prints a markdown table.
 *   (a) throughput: 20,000 messages over 1,000 keys committed up front, then the time from relay start until
 *       all are delivered (the backstop claim path: in-process transport, every message gets its inbox row in a
 *       consumer transaction, and a trivial handler runs);
 *   (b) latency at a fixed offered load: 1,000 msg/s for 10 s, open loop (each commit starts at its scheduled
 *       time whether or not earlier ones finished, one transaction per message, 1,000 keys);
 *       commit-to-handler = handler start − the moment the producer's commit returned, in an HDR histogram (µs);
 *       this is the hand-off path: the relay runs, so each commit hands its message over at once.
 * Producer, relay and consumer share this process and the database, as in the monolith.
 * Uses DATABASE_URL (a server; a scratch database is created and dropped) or starts an embedded PostgreSQL
 * on a free port in a temporary directory. Options (environment): BENCH_MESSAGES, BENCH_KEYS, BENCH_RATE,
 * BENCH_SECONDS, BENCH_SKIP_LATENCY=1, BENCH_RELAY (JSON relay options), BENCH_POOL (pool size per module),
 * BENCH_SLOTS (deliveries at once).
 */
import 'reflect-metadata';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import * as hdr from 'hdr-histogram-js';
import { Client } from 'pg';
import { z } from 'zod';
import { EmbeddedPostgresServer } from '../../database/embedded-postgres-server';
import { openModuleDb } from '../../database/module-database';
import type { ModuleDb } from '../../database/module-db';
import { freePort } from '../../testing/free-port';
import { DeliveryGate } from '../core/delivery-gate';
import { MessageDispatcher } from '../core/dispatcher';
import { HandlerRegistry } from '../core/handlers';
import { messagingMigrations } from '../core/migrations';
import { Outbox } from '../core/outbox';
import { RelayPresence } from '../core/presence';
import { OutboxRelay } from '../core/relay';
import type { RelayOptionsInput } from '../core/relay-options';
import { InProcessTransport } from '../transports/in-process';

const Tick = { type: 'bench.tick.v1', schema: z.object({ i: z.number().int() }) } as const;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000);
const RATE = Number(process.env.BENCH_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SKIP_LATENCY = process.env.BENCH_SKIP_LATENCY === '1';
/** Relay options (JSON) over the defaults, e.g. BENCH_RELAY='{"concurrency":20}'; BENCH_POOL sets each module's pool size. */
const RELAY = JSON.parse(process.env.BENCH_RELAY ?? '{}') as RelayOptionsInput;
const POOL = process.env.BENCH_POOL ? Number(process.env.BENCH_POOL) : 5;
const SLOTS = process.env.BENCH_SLOTS ? Number(process.env.BENCH_SLOTS) : 16;

const quiet = {
  log: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  warn: (m: unknown) => console.warn(m),
  error: (m: unknown) => console.error(m),
};

interface Bench {
  producer: ModuleDb;
  consumer: ModuleDb;
  outbox: Outbox;
  relay(onHandle: (i: number) => void): { start(): Promise<void>; stop(): Promise<void> };
}

async function throughput(b: Bench): Promise<{ messages: number; seconds: number; perSecond: number }> {
  let handled = 0;
  for (let start = 0; start < MESSAGES; start += 500) {
    await b.producer.transaction(async (tx) => {
      for (let i = start; i < Math.min(start + 500, MESSAGES); i++) await b.outbox.add(tx, Tick, { i }, { key: `key-${i % KEYS}` });
    });
  }
  const relay = b.relay(() => handled++);
  const t0 = performance.now();
  await relay.start();
  const pending = async () => (await b.producer.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox`))[0].n;
  while ((await pending()) > 0) await sleep(10);
  const seconds = (performance.now() - t0) / 1000;
  await relay.stop();
  if (handled < MESSAGES) throw new Error(`only ${handled} of ${MESSAGES} messages were handled`);
  return { messages: MESSAGES, seconds, perSecond: MESSAGES / seconds };
}

interface LatencyResult {
  commitToHandler: hdr.Histogram;
  scheduledToHandler: hdr.Histogram;
  commit: hdr.Histogram;
  offered: number;
  late: number;
  /** Event loop delay of this process during the run (ms): how busy Node itself was. */
  loopDelay: { p50: number; p99: number; max: number };
}

async function latency(b: Bench): Promise<LatencyResult> {
  const build = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const commitToHandler = build();
  const scheduledToHandler = build();
  const commit = build();
  const total = RATE * SECONDS;
  const scheduled = new Float64Array(total);
  const committed = new Float64Array(total);
  const started = new Float64Array(total);
  let done = 0;
  let late = 0; // handler started before the producer saw its commit return (recorded as 0)
  const record = (i: number) => {
    if (started[i] < committed[i]) late++;
    commitToHandler.recordValue(Math.max(0, Math.round((started[i] - committed[i]) * 1000)));
    scheduledToHandler.recordValue(Math.round((started[i] - scheduled[i]) * 1000));
    commit.recordValue(Math.round((committed[i] - scheduled[i]) * 1000));
    done++;
  };
  const relay = b.relay((i) => {
    started[i] = performance.now();
    if (committed[i] > 0) record(i);
  });
  await relay.start();

  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = performance.now() + 50;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < total;) {
    const now = performance.now();
    // Open loop: start every commit whose scheduled time has come, without waiting for earlier ones.
    while (i < total && t0 + (i * 1000) / RATE <= now) {
      const n = i++;
      scheduled[n] = t0 + (n * 1000) / RATE;
      sends.push(
        b.producer
          .transaction((tx) => b.outbox.add(tx, Tick, { i: n }, { key: `key-${n % KEYS}` }))
          .then(() => {
            committed[n] = performance.now();
            if (started[n] > 0) record(n);
          }),
      );
    }
    await sleep(Math.max(0, t0 + (i * 1000) / RATE - performance.now()));
  }
  await Promise.all(sends);
  loop.disable();
  const deadline = Date.now() + 60_000;
  while (done < total && Date.now() < deadline) await sleep(10);
  await relay.stop();
  if (done < total) throw new Error(`only ${done} of ${total} messages were handled within 60 s`);
  const loopDelay = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  return { commitToHandler, scheduledToHandler, commit, offered: total / SECONDS, late, loopDelay };
}

export async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const server = await startServer();
  const admin = new Client({ connectionString: server.url });
  const dbName = `outbox_bench_${process.pid}`;
  const opened: ModuleDb[] = [];
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(server.url);
    url.pathname = `/${dbName}`;
    const settings = {
      url: url.toString(),
      adminUrl: url.toString(),
      roleSecret: 'bench-secret',
      rolePrefix: 'outbox_bench',
      poolSize: POOL,
    };
    const open = async (name: string) => {
      const db = await openModuleDb(settings, { name, migrations: messagingMigrations(1_767_225_600_000) });
      opened.push(db);
      return db;
    };
    const producer = await open('bench_orders');
    const consumer = await open('bench_billing');
    const outbox = new Outbox('bench_orders');
    const consumerOutbox = new Outbox('bench_billing');
    const bench: Bench = {
      producer,
      consumer,
      outbox,
      relay: (onHandle) => {
        const registry = new HandlerRegistry().add({
          consumer: 'bench_billing:Bench.tick',
          module: 'bench_billing',
          contract: Tick,
          handle: (p) => onHandle(p.i),
        });
        const dispatcher = new MessageDispatcher(
          registry,
          (m) => (m === 'bench_billing' ? consumer : producer),
          (m) => (m === 'bench_billing' ? consumerOutbox : outbox),
          quiet,
        );
        const presence = new RelayPresence(quiet);
        const relay = new OutboxRelay({
          module: 'bench_orders',
          db: producer,
          outbox,
          transport: new InProcessTransport(dispatcher),
          gate: new DeliveryGate(SLOTS),
          presence,
          options: RELAY,
          logger: quiet,
        });
        return { start: () => relay.start(), stop: async () => (await relay.stop(), await presence.stop()) };
      },
    };
    const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    const t = await throughput(bench);
    await producer.query('DELETE FROM outbox');
    await consumer.query('DELETE FROM inbox');
    if (SKIP_LATENCY)
      return void console.log(`throughput: ${t.messages} messages in ${t.seconds.toFixed(2)} s = ${Math.round(t.perSecond)} msg/s`);
    const l = await latency(bench);
    const ms = (h: hdr.Histogram, p: number) => (h.getValueAtPercentile(p) / 1000).toFixed(2);
    const row = (name: string, h: hdr.Histogram) =>
      `| ${name} | ${[50, 90, 99, 99.9].map((p) => ms(h, p)).join(' | ')} | ${(h.maxValue / 1000).toFixed(2)} | ${h.totalCount} |`;
    console.log(
      [
        `## Outbox relay benchmark`,
        ``,
        `PostgreSQL ${version} (${server.embedded ? 'embedded, started by the benchmark' : 'DATABASE_URL'}), Node ${process.version}, relay options ${JSON.stringify(RELAY)}, ${SLOTS} deliveries at once, pool ${POOL} per module, in-process transport, ${os.cpus().length} CPUs.`,
        ``,
        `| Throughput | Messages | Keys | Seconds | Messages/s |`,
        `|---|---:|---:|---:|---:|`,
        `| pre-committed backlog (backstop claim), until all delivered | ${t.messages} | ${KEYS} | ${t.seconds.toFixed(2)} | ${Math.round(t.perSecond)} |`,
        ``,
        `Latency at ${l.offered} msg/s offered for ${SECONDS} s (open loop), milliseconds:`,
        ``,
        `| Latency | p50 | p90 | p99 | p99.9 | max | count |`,
        `|---|---:|---:|---:|---:|---:|---:|`,
        row('commit returned → handler start', l.commitToHandler),
        row('scheduled send → handler start', l.scheduledToHandler),
        row('scheduled send → commit returned (producer)', l.commit),
        ``,
        `${l.late} of ${l.commitToHandler.totalCount} handlers started before the producer saw its commit return (the hand-off ran before the producer's own continuation); recorded as 0.`,
        `Event loop delay during the run: p50 ${l.loopDelay.p50.toFixed(2)} ms, p99 ${l.loopDelay.p99.toFixed(2)} ms, max ${l.loopDelay.max.toFixed(2)} ms.`,
      ].join('\n'),
    );
  } finally {
    for (const db of opened) await db.pool.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    const roles = await admin
      .query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'outbox\\_bench\\_%'`)
      .catch(() => ({ rows: [] }));
    for (const { rolname } of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${rolname}"`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    await server.stop();
  }
}

async function startServer(): Promise<{ url: string; embedded: boolean; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, embedded: false, stop: () => Promise.resolve() };
  const dir = mkdtempSync(path.join(tmpdir(), 'outbox-bench-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as the 'postgres' user, which must enter it
  const server = new EmbeddedPostgresServer({ dataDir: path.join(dir, 'pg'), port: await freePort() });
  await server.start();
  return {
    url: server.adminUrl,
    embedded: true,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
