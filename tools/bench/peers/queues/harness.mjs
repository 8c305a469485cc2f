// What every queue peer runs: the same two experiments the relay's bench runs, on the same terms.
// A tool plugs in through an adapter (see README.md): how to enqueue in a producer's transaction, how to
// enqueue a backlog in bulk, how to start its workers with a no-op handler, how to tell that nothing is left.
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { newHistogram } from '../../lib/measure.mjs';
import { cpuCounters, cpuPerThousand } from './cpu.mjs';

export const DEFAULTS = { messages: 20_000, keys: 1_000, mode: 'backlog', order: 'none', rate: 300, seconds: 10, timeoutS: 120 };
/** The application's pool for the producer: TypeORM's default, as the relay's producer has. */
const PRODUCER_POOL = 10;
const BACKLOG_CHUNK = 500;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one experiment with `adapter` in a fresh schema of `databaseUrl`, dropped afterwards (also on failure).
 * @returns see README.md ("Result")
 */
export async function runQueuePeer(adapter, input) {
  const o = { ...DEFAULTS, ...input };
  if (!o.databaseUrl) throw new Error('run({ databaseUrl }) needs the URL of a scratch database the runner may create a schema in');
  if (!['backlog', 'open-loop'].includes(o.mode)) throw new Error(`mode must be 'backlog' or 'open-loop', got '${o.mode}'`);
  if (!adapter.orders.includes(o.order))
    throw new Error(`${adapter.name} has no '${o.order}' variant: use ${adapter.orders.map((v) => `'${v}'`).join(' or ')}`);
  const total = o.mode === 'backlog' ? o.messages : Math.round(o.rate * o.seconds);
  const schema = `peer_${adapter.slug}_${randomBytes(4).toString('hex')}`;
  const producer = new pg.Pool({ connectionString: o.databaseUrl, max: PRODUCER_POOL, application_name: `peer:${adapter.slug}:producer` });
  producer.on('error', () => undefined);

  const started = new Float64Array(total);
  const perKeyLast = new Int32Array(o.keys).fill(-1);
  let handled = 0;
  let outOfOrder = 0;
  let onStart = () => undefined;
  const handle = (i) => {
    if (started[i] === 0) {
      started[i] = performance.now();
      handled++;
      const key = i % o.keys;
      if (i < perKeyLast[key])
        outOfOrder++; // a later message of the key started before this one
      else perKeyLast[key] = i;
      onStart(i);
    }
  };
  const key = (i) => `key-${i % o.keys}`;
  // A tool's own promise that nobody awaits (pg-boss 10 does not await its completions) must not kill the run:
  // it is counted and reported; the job it concerned then stays unfinished, and the run says so.
  const toolErrors = [];
  const onToolError = (error) => toolErrors.push(error instanceof Error ? error.message : String(error));
  process.on('unhandledRejection', onToolError);
  const queue = await adapter.open({ databaseUrl: o.databaseUrl, schema, order: o.order, handle, settings: o.settings });
  try {
    const pids = o.pgPids ?? (() => backendPids(producer));
    let window;
    if (o.mode === 'backlog') {
      // At most one message of a key per statement: pg-boss orders by created_on (the transaction's now()), then a
      // random id, so messages of one key enqueued together would have no order among themselves.
      const chunk = Math.min(BACKLOG_CHUNK, o.keys);
      for (let start = 0; start < total; start += chunk) {
        const ids = Array.from({ length: Math.min(chunk, total - start) }, (_, n) => start + n);
        await queue.enqueueMany(ids.map((i) => ({ i, key: key(i) })));
      }
      const before = await cpuCounters(pids);
      const t0 = performance.now();
      await queue.start();
      await untilDone(queue, () => handled, total, o.timeoutS, toolErrors);
      window = { t0, t1: performance.now(), before, after: await cpuCounters(pids) };
    } else {
      window = await openLoop({
        o,
        total,
        queue,
        producer,
        key,
        pids,
        toolErrors,
        setOnStart: (f) => (onStart = f),
        started,
        handled: () => handled,
      });
    }
    const seconds = (window.t1 - window.t0) / 1000;
    return {
      tool: adapter.name,
      version: adapter.version,
      mode: o.mode,
      order: o.order,
      settings: queue.settings,
      orderGuarantee: adapter.orderGuarantee[o.order],
      messages: total,
      keys: o.keys,
      seconds,
      perSecond: total / seconds,
      cpu: cpuPerThousand(window.before, window.after, total),
      outOfOrder,
      toolErrors,
      ...(window.latency ?? { latencyUs: null }),
    };
  } finally {
    process.off('unhandledRejection', onToolError);
    await queue.close().catch((e) => console.error(`${adapter.name}: stopping its workers failed: ${e.message}`));
    await dropSchema(producer, schema).catch((e) => console.error(`${adapter.name}: could not drop schema ${schema}: ${e.message}`));
    await producer.end().catch(() => undefined);
  }
}

/**
 * Open loop, like the relay's latency bench: message i is committed at t0 + i/rate in its own transaction
 * (BEGIN; enqueue through the tool's own API on that connection; COMMIT), whether or not earlier ones finished.
 * latencyUs: handler start − the moment that message's COMMIT returned.
 */
async function openLoop({ o, total, queue, producer, key, pids, toolErrors, setOnStart, started, handled }) {
  const committed = new Float64Array(total);
  const scheduled = new Float64Array(total);
  const latencyUs = newHistogram();
  const commitUs = newHistogram();
  let late = 0;
  let errors = 0;
  let firstError;
  const record = (i) => {
    if (started[i] < committed[i]) late++; // the worker saw it before the producer saw its COMMIT return
    latencyUs.recordValue(Math.max(0, Math.round((started[i] - committed[i]) * 1000)));
  };
  setOnStart((i) => {
    if (committed[i] > 0) record(i);
  });
  await queue.start();
  const send = async (i) => {
    const client = await producer.connect();
    try {
      await client.query('BEGIN');
      await queue.enqueueIn(client, { i, key: key(i) });
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    committed[i] = performance.now();
    commitUs.recordValue(Math.max(0, Math.round((committed[i] - scheduled[i]) * 1000)));
    if (started[i] > 0) record(i);
  };
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const before = await cpuCounters(pids);
  const t0 = performance.now() + 50;
  const sends = [];
  for (let i = 0; i < total;) {
    const now = performance.now();
    while (i < total && t0 + (i * 1000) / o.rate <= now) {
      const n = i++;
      scheduled[n] = t0 + (n * 1000) / o.rate;
      sends.push(
        send(n).catch((e) => {
          errors++;
          firstError ??= e;
        }),
      );
    }
    await sleep(Math.max(0, t0 + (i * 1000) / o.rate - performance.now()));
  }
  await Promise.all(sends);
  loop.disable();
  if (errors > 0) throw new Error(`${errors} of ${total} producer transactions failed; the first: ${firstError.message}`);
  await untilDone(queue, handled, total, o.timeoutS, toolErrors);
  const t1 = started.reduce((a, b) => Math.max(a, b), 0); // not Math.max(...started): too many arguments for big runs
  return {
    t0,
    t1,
    before,
    after: await cpuCounters(pids),
    latency: {
      latencyUs,
      /** scheduled → COMMIT returned: when its p99 grows, the producer fell behind the schedule. */
      commitUs,
      late,
      offeredPerSecond: o.rate,
      loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    },
  };
}

/** Until every message was handled and the tool's tables hold nothing unfinished (completions are often written after). */
async function untilDone(queue, handled, total, timeoutS, toolErrors) {
  const deadline = performance.now() + timeoutS * 1000;
  const errors = () =>
    toolErrors.length === 0 ? '' : `; the tool failed ${toolErrors.length} time(s) on its own, first: ${toolErrors[0]}`;
  while (handled() < total) {
    if (performance.now() > deadline)
      throw new Error(`only ${handled()} of ${total} messages were handled within ${timeoutS} s${errors()}`);
    await sleep(5);
  }
  let left;
  while ((left = await queue.unfinished()) > 0) {
    if (performance.now() > deadline)
      throw new Error(`all ${total} were handled, but ${left} not marked done within ${timeoutS} s${errors()}`);
    await sleep(10);
  }
}

/** The backends serving this database (the producer's, the tool's pools, LISTEN connections). */
async function backendPids(pool) {
  const { rows } = await pool.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  return rows.map((r) => r.pid);
}

async function dropSchema(pool, schema) {
  await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
}
