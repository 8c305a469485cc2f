/**
 * Outbox relay benchmark, on the same terms as its peers (tools/bench/peers/queues, whose Result it returns):
 *   'backlog': `messages` over `keys` committed up front, then the time from relay start until every one was handled
 *       and the outbox is empty (the backstop claim path: in-process transport, each message gets its inbox row in a
 *       consumer transaction, and a no-op handler runs);
 *   'open-loop': `rate` msg/s for `seconds`, each message in its own producer transaction, started on schedule whether
 *       or not earlier ones finished; latencyUs = handler start − the moment the producer's commit returned (HDR, µs).
 *       This is the hand-off path: the relay runs, so each commit hands its message over at once.
 * Producer, relay and consumer share this process and the database, as in the monolith. Each run creates its own
 * database on the server and drops it. `npm run bench:outbox` (tools/bench/outbox.mjs) runs it beside its peers;
 * `node dist/libs/platform/src/messaging/bench/outbox.bench.js` runs it alone (DATABASE_URL, else an embedded server).
 */
import 'reflect-metadata';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import * as hdr from 'hdr-histogram-js';
import { EmbeddedPostgresServer } from '../../database/embedded-postgres-server';
import { freePort } from '../../testing/free-port';
import { type CpuCounters, type CpuPerThousand, cpuCounters, cpuPerThousand } from './cpu';
import { RELAY_DEFAULTS, type RelayFixture, type RelaySettings, Tick, openRelayFixture } from './relay-bench-fixture';

export interface RelayRunOptions {
  /** A PostgreSQL server the role may create databases and roles on (any database of it). */
  databaseUrl: string;
  mode: 'backlog' | 'open-loop';
  messages?: number;
  keys?: number;
  rate?: number;
  seconds?: number;
  /** The PostgreSQL processes whose CPU to count; default: the backends of the run's database. */
  pgPids?: () => Promise<number[]>;
  settings?: Partial<RelaySettings>;
  timeoutS?: number;
}

/** The Result shape of the queue peers (tools/bench/peers/README.md). */
export interface RelayRunResult {
  tool: string;
  version: string;
  mode: 'backlog' | 'open-loop';
  order: 'per-key';
  settings: RelaySettings;
  orderGuarantee: string;
  /** The scratch database the run created (and dropped). */
  database: string;
  messages: number;
  keys: number;
  seconds: number;
  perSecond: number;
  cpu: CpuPerThousand;
  /**
   * Handler starts that overtook an earlier message of their key: in a backlog (committed one after another), an earlier
   * one; in the open loop, one whose COMMIT had returned before this one's transaction began (overlapping producer
   * transactions have no order among themselves, so they are not counted).
   */
  outOfOrder: number;
  toolErrors: string[];
  latencyUs: hdr.Histogram | null;
  commitUs?: hdr.Histogram;
  late?: number;
  offeredPerSecond?: number;
  loopDelayMs?: { p50: number; p99: number; max: number };
}

/** What the open loop changes in the handler's bookkeeping. */
interface Hooks {
  started: Float64Array;
  onStart(i: number): void;
  overtook(i: number): boolean;
}

interface Window {
  t0: number;
  t1: number;
  before: CpuCounters;
  after: CpuCounters;
  latency?: Pick<RelayRunResult, 'latencyUs' | 'commitUs' | 'late' | 'offeredPerSecond' | 'loopDelayMs'>;
}

const BACKLOG_CHUNK = 500;
const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runRelay(input: RelayRunOptions): Promise<RelayRunResult> {
  const o = { messages: 20_000, keys: 1_000, rate: 1_000, seconds: 10, timeoutS: 120, ...input };
  if (!['backlog', 'open-loop'].includes(o.mode)) throw new Error(`mode must be 'backlog' or 'open-loop', got '${String(o.mode)}'`);
  const settings: RelaySettings = { ...RELAY_DEFAULTS, ...o.settings };
  const total = o.mode === 'backlog' ? o.messages : Math.round(o.rate * o.seconds);
  const started = new Float64Array(total);
  const perKeyLast = new Int32Array(o.keys).fill(-1);
  let handled = 0;
  let outOfOrder = 0;
  const hooks: Hooks = {
    started,
    onStart: () => undefined,
    overtook: (i) => {
      const key = i % o.keys;
      if (i < perKeyLast[key]) return true;
      perKeyLast[key] = i;
      return false;
    },
  };
  const handle = (i: number) => {
    if (started[i] !== 0) return; // a redelivery: its first start counts
    started[i] = performance.now();
    handled++;
    if (hooks.overtook(i)) outOfOrder++;
    hooks.onStart(i);
  };
  const fixture = await openRelayFixture(o.databaseUrl, settings);
  try {
    const pids = o.pgPids ?? (() => fixture.backendPids());
    const until = () => untilDone(fixture, () => handled, total, o.timeoutS);
    const window =
      o.mode === 'backlog'
        ? await backlog(fixture, total, o.keys, handle, pids, until)
        : await openLoop(fixture, { total, keys: o.keys, rate: o.rate }, handle, hooks, pids, until);
    const seconds = (window.t1 - window.t0) / 1000;
    return {
      tool: 'outbox relay',
      version: projectVersion(),
      mode: o.mode,
      order: 'per-key',
      settings,
      orderGuarantee: 'per key, across handlers',
      database: fixture.database,
      messages: total,
      keys: o.keys,
      seconds,
      perSecond: total / seconds,
      cpu: cpuPerThousand(window.before, window.after, total),
      outOfOrder,
      toolErrors: fixture.errors,
      ...(window.latency ?? { latencyUs: null }),
    };
  } finally {
    await fixture.close();
  }
}

async function backlog(
  f: RelayFixture,
  total: number,
  keys: number,
  handle: (i: number) => void,
  pids: () => Promise<number[]>,
  until: () => Promise<void>,
): Promise<Window> {
  for (let start = 0; start < total; start += BACKLOG_CHUNK) {
    await f.producer.transaction(async (tx) => {
      for (let i = start; i < Math.min(start + BACKLOG_CHUNK, total); i++) await f.outbox.add(tx, Tick, { i }, { key: `key-${i % keys}` });
    });
  }
  const relay = f.relay(handle);
  const before = await cpuCounters(pids);
  const t0 = performance.now();
  await relay.start();
  try {
    await until();
    return { t0, t1: performance.now(), before, after: await cpuCounters(pids) };
  } finally {
    await relay.stop();
  }
}

async function openLoop(
  f: RelayFixture,
  o: { total: number; keys: number; rate: number },
  handle: (i: number) => void,
  hooks: Hooks,
  pids: () => Promise<number[]>,
  until: () => Promise<void>,
): Promise<Window> {
  const { started } = hooks;
  const committed = new Float64Array(o.total);
  const sent = new Float64Array(o.total); // when its transaction was asked for: it began no earlier
  const scheduled = new Float64Array(o.total);
  const latencyUs = newHistogram();
  const commitUs = newHistogram();
  let late = 0;
  let errors = 0;
  let firstError: unknown;
  const record = (i: number) => {
    if (started[i] < committed[i]) late++; // the handler ran before the producer's continuation saw its commit return
    latencyUs.recordValue(Math.max(0, Math.round((started[i] - committed[i]) * 1000)));
  };
  hooks.onStart = (i) => {
    if (committed[i] > 0) record(i);
  };
  hooks.overtook = (i) => {
    for (let j = i - o.keys; j >= 0; j -= o.keys) if (started[j] === 0 && committed[j] > 0 && committed[j] < sent[i]) return true;
    return false;
  };
  const relay = f.relay(handle);
  await relay.start();
  try {
    const send = async (i: number) => {
      sent[i] = performance.now();
      await f.producer.transaction((tx) => f.outbox.add(tx, Tick, { i }, { key: `key-${i % o.keys}` }));
      committed[i] = performance.now();
      commitUs.recordValue(Math.max(0, Math.round((committed[i] - scheduled[i]) * 1000)));
      if (started[i] > 0) record(i);
    };
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const before = await cpuCounters(pids);
    const t0 = performance.now() + 50;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < o.total;) {
      const now = performance.now();
      // Open loop: start every commit whose scheduled time has come, without waiting for earlier ones.
      while (i < o.total && t0 + (i * 1000) / o.rate <= now) {
        const n = i++;
        scheduled[n] = t0 + (n * 1000) / o.rate;
        sends.push(
          send(n).catch((error: unknown) => {
            errors++;
            firstError ??= error;
          }),
        );
      }
      await sleep(Math.max(0, t0 + (i * 1000) / o.rate - performance.now()));
    }
    await Promise.all(sends);
    loop.disable();
    if (errors > 0) throw new Error(`${errors} of ${o.total} producer transactions failed; the first: ${String(firstError)}`);
    await until();
    const t1 = started.reduce((a, b) => Math.max(a, b), 0);
    return {
      t0,
      t1,
      before,
      after: await cpuCounters(pids),
      latency: {
        latencyUs,
        commitUs,
        late,
        offeredPerSecond: o.rate,
        loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      },
    };
  } finally {
    await relay.stop();
  }
}

/** Until every message was handled and the outbox holds none (a delivered message is deleted shortly after). */
async function untilDone(f: RelayFixture, handled: () => number, total: number, timeoutS: number): Promise<void> {
  const deadline = performance.now() + timeoutS * 1000;
  const errors = () => (f.errors.length === 0 ? '' : `; the relay logged ${f.errors.length} error(s), first: ${f.errors[0]}`);
  while (handled() < total) {
    if (performance.now() > deadline)
      throw new Error(`only ${handled()} of ${total} messages were handled within ${timeoutS} s${errors()}`);
    await sleep(5);
  }
  let left: number;
  while ((left = await f.pending()) > 0) {
    if (performance.now() > deadline)
      throw new Error(`all ${total} were handled, but ${left} still in the outbox after ${timeoutS} s${errors()}`);
    await sleep(10);
  }
}

/** This repository's version and commit, as the peers name their package version. */
function projectVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'monolith-first') return pkg.version ?? 'unknown';
  }
  return 'unknown';
}

/** One run of each mode, alone: `BENCH_MESSAGES`, `BENCH_KEYS`, `BENCH_RATE`, `BENCH_SECONDS` override the defaults. */
export async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const server = await startServer();
  try {
    const env = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
    const common = { databaseUrl: server.url, messages: env('BENCH_MESSAGES'), keys: env('BENCH_KEYS') };
    const b = await runRelay({ ...common, mode: 'backlog' });
    console.log(`backlog: ${b.messages} messages / ${b.keys} keys in ${b.seconds.toFixed(2)} s = ${Math.round(b.perSecond)} msg/s`);
    const l = await runRelay({ ...common, mode: 'open-loop', rate: env('BENCH_RATE'), seconds: env('BENCH_SECONDS') });
    const ms = (p: number) => ((l.latencyUs?.getValueAtPercentile(p) ?? 0) / 1000).toFixed(2);
    console.log(`open loop at ${l.offeredPerSecond} msg/s: commit → handler ms p50 ${ms(50)} p99 ${ms(99)} p99.9 ${ms(99.9)}`);
  } finally {
    await server.stop();
  }
}

async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: () => Promise.resolve() };
  const dir = mkdtempSync(path.join(tmpdir(), 'outbox-bench-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as the 'postgres' user, which must enter it
  const server = new EmbeddedPostgresServer({ dataDir: path.join(dir, 'pg'), port: await freePort() });
  await server.start();
  return {
    url: server.adminUrl,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
