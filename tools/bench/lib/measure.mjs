// Turning what the load generator saw and what the database recorded into HDR histograms (integer µs).
import { readFileSync, readdirSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';

export const newHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

/** The history entry the saga writes in the transaction that makes an order CONFIRMED (libs/orders/src/domain/saga.ts). */
export const CONFIRMED_EVENT = 'Order confirmed';

/**
 * Maps this process's monotonic clock (performance.now(), ms) onto the database server's wall clock
 * (clock_timestamp(), µs): several round trips, the offset taken from the shortest one (its uncertainty is
 * half that round trip). The database, the apps and this process share the machine's clock, so this only
 * removes the difference between performance.timeOrigin and the system clock, and measures it.
 */
export async function calibrateClock(client, rounds = 40) {
  let best = null;
  for (let r = 0; r < rounds; r++) {
    const before = performance.now();
    const { rows } = await client.query(`SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint::text AS us`);
    const after = performance.now();
    const rtt = after - before;
    if (!best || rtt < best.rttMs) best = { rttMs: rtt, offsetMs: Number(rows[0].us) / 1000 - (before + after) / 2 };
  }
  // ms to add to performance.now() to get the database's epoch ms; and how far that is from timeOrigin's idea
  return { ...best, vsTimeOriginMs: best.offsetMs - performance.timeOrigin };
}

/** Whether the server can say when each transaction committed (pg_xact_commit_timestamp). */
export async function commitTimestamps(client) {
  const { rows } = await client.query(`SHOW track_commit_timestamp`);
  return rows[0].track_commit_timestamp === 'on';
}

/**
 * When each order was confirmed, read back from the orders module's own tables after the run (no polling,
 * hence no polling error): `history_us` is the `at` of the CONFIRMED history entry (the handler's
 * `new Date()`, ms resolution, taken before its transaction commits); `commit_us` is the commit time of
 * that entry's transaction (µs; only with track_commit_timestamp=on).
 */
export async function confirmationTimes(client, ids, withCommitTs) {
  const commit = withCommitTs ? `(extract(epoch from pg_xact_commit_timestamp(h.xmin)) * 1000000)::bigint::text` : `NULL`;
  const { rows } = await client.query(
    `SELECT o.id::text AS id, o.status, (extract(epoch from h.at) * 1000000)::bigint::text AS history_us, ${commit} AS commit_us
       FROM orders.orders o
       LEFT JOIN orders.order_history h ON h.order_id = o.id AND h.event = $2
      WHERE o.id = ANY($1::uuid[])`,
    [ids, CONFIRMED_EVENT],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        status: r.status,
        historyUs: r.history_us === null ? null : Number(r.history_us),
        commitUs: r.commit_us === null ? null : Number(r.commit_us),
      },
    ]),
  );
}

/**
 * The run's histograms (µs) and counts.
 * - endToEnd: intended send → CONFIRMED. The headline: counted from when the order was due, not when it was
 *   actually sent, so a stalled sender or server cannot hide its stall (coordinated-omission corrected).
 *   A measured order that was not CONFIRMED when the results were read (`censorAtMs`, performance.now()) is
 *   recorded at that moment: its latency is at least that, so percentiles above `censoredFromUs` are lower bounds.
 * - fromActualSend: actual send → CONFIRMED (uncorrected, what a closed-loop tool would report).
 * - accepted: intended send → 202 received (every accepted order).
 * - saga: 202 received → CONFIRMED (the asynchronous part alone).
 * - handlerToCommit: the CONFIRMED entry's `at` → its commit (what reading `at` alone would miss).
 */
export function analyse(load, confirmations, clock, censorAtMs) {
  const epochUs = (perfMs) => Math.round((perfMs + clock.offsetMs) * 1000);
  const h = {
    endToEnd: newHistogram(),
    fromActualSend: newHistogram(),
    accepted: newHistogram(),
    saga: newHistogram(),
    handlerToCommit: newHistogram(),
  };
  const failures = { httpErrors: 0, notConfirmed: 0, statuses: {}, negative: 0 };
  const censorAtUs = epochUs(censorAtMs);
  let censoredFromUs = Infinity;
  const windowStartUs = epochUs(load.windowStart);
  const windowEndUs = epochUs(load.windowEnd);
  let confirmedInWindow = 0;
  let inFlightAtWindowEnd = 0;
  const firstSecondsUs = [];
  const lastSecondsUs = [];
  const confirmedTimes = [];
  const record = (histogram, us) => {
    if (us < 0) failures.negative++;
    histogram.recordValue(Math.max(0, us));
  };
  for (let i = 0; i < load.total; i++) {
    const id = load.ids[i];
    const c = id ? confirmations.get(id) : undefined;
    const confirmedUs = c?.status === 'CONFIRMED' ? (c.commitUs ?? c.historyUs) : null;
    if (confirmedUs !== null) {
      confirmedTimes.push(confirmedUs);
      if (confirmedUs >= windowStartUs && confirmedUs < windowEndUs) confirmedInWindow++;
    }
    const intendedUs = epochUs(load.intended[i]);
    if (intendedUs < windowEndUs && (confirmedUs === null || confirmedUs >= windowEndUs)) inFlightAtWindowEnd++;
    if (i < load.warmup) continue; // warm-up: counted for throughput, not recorded
    const t = intendedUs - windowStartUs;
    if (id) record(h.accepted, epochUs(load.answered[i]) - intendedUs); // every accepted order, confirmed or not
    if (confirmedUs === null) {
      if (!id) failures.httpErrors++;
      else {
        failures.notConfirmed++;
        const status = c?.status ?? 'MISSING';
        failures.statuses[status] = (failures.statuses[status] ?? 0) + 1;
      }
      const atLeast = censorAtUs - intendedUs;
      censoredFromUs = Math.min(censoredFromUs, atLeast);
      record(h.endToEnd, atLeast);
      if (t < 5e6) firstSecondsUs.push(atLeast);
      if (t >= windowEndUs - windowStartUs - 5e6) lastSecondsUs.push(atLeast);
      continue;
    }
    const e2e = confirmedUs - intendedUs;
    record(h.endToEnd, e2e);
    record(h.fromActualSend, confirmedUs - epochUs(load.actual[i]));
    record(h.saga, confirmedUs - epochUs(load.answered[i]));
    if (c.commitUs !== null && c.historyUs !== null) record(h.handlerToCommit, c.commitUs - c.historyUs);
    if (t < 5e6) firstSecondsUs.push(e2e);
    if (t >= windowEndUs - windowStartUs - 5e6) lastSecondsUs.push(e2e);
  }
  const measured = load.total - load.warmup;
  const seconds = (load.windowEnd - load.windowStart) / 1000;
  const sends = Array.from(load.actual.subarray(load.warmup));
  const lag = newHistogram();
  for (let i = load.warmup; i < load.total; i++) lag.recordValue(Math.max(0, Math.round((load.actual[i] - load.intended[i]) * 1000)));
  confirmedTimes.sort((a, b) => a - b);
  const censored = failures.httpErrors + failures.notConfirmed;
  const rows = ['order,phase,intended_ms,actual_ms,answered_ms,confirmed_ms'];
  for (let i = 0; i < load.total; i++) {
    const c = load.ids[i] ? confirmations.get(load.ids[i]) : undefined;
    const confirmedUs = c?.status === 'CONFIRMED' ? (c.commitUs ?? c.historyUs) : null;
    const rel = (perfMs) => (perfMs - load.windowStart).toFixed(3);
    rows.push(
      [
        i,
        i < load.warmup ? 'warmup' : 'measured',
        rel(load.intended[i]),
        rel(load.actual[i]),
        load.ids[i] ? rel(load.answered[i]) : '',
        confirmedUs === null ? '' : (confirmedUs / 1000 - clock.offsetMs - load.windowStart).toFixed(3),
      ].join(','),
    );
  }
  return {
    histograms: h,
    /** One line per order, times in ms from the start of the measured window (CSV). */
    csv: rows.join('\n') + '\n',
    measured,
    confirmed: measured - censored,
    censored,
    censoredFromUs: censored > 0 ? censoredFromUs : null,
    failures,
    failed: censored > 0,
    throughput: {
      offered: measured / seconds,
      sent: (sends.length - 1) / ((Math.max(...sends) - Math.min(...sends)) / 1000),
      confirmed: confirmedInWindow / seconds,
      inFlightAtWindowEnd,
      drainMs: confirmedTimes.length ? (confirmedTimes[confirmedTimes.length - 1] - windowEndUs) / 1000 : null,
      medianFirst5sMs: median(firstSecondsUs) / 1000,
      medianLast5sMs: median(lastSecondsUs) / 1000,
    },
    sendLag: lag,
    source: [...confirmations.values()].some((c) => c.commitUs !== null) ? 'commit' : 'history',
  };
}

function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Counters of the run's databases (pg_stat_database; flushed by backends about once a second). */
export async function databaseCounters(client, databases) {
  const { rows } = await client.query(
    `SELECT sum(xact_commit)::bigint::text AS commits, sum(xact_rollback)::bigint::text AS rollbacks,
            sum(deadlocks)::bigint::text AS deadlocks, sum(tup_inserted + tup_updated + tup_deleted)::bigint::text AS writes
       FROM pg_stat_database WHERE datname = ANY($1)`,
    [databases],
  );
  return Object.fromEntries(Object.entries(rows[0]).map(([k, v]) => [k, Number(v)]));
}

export function countersBetween(a, b) {
  return Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]]));
}

// ---------------------------------------------------------------------------------------------------------
// CPU use per process and for the machine, from /proc (Linux), between two snapshots.

const TICK_S = 0.01; // USER_HZ is 100 on Linux

function procTimes(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 (utime, stime, cutime, cstime), counted from 1 with pid=1 and comm=2; f[0] is field 3
    return { ppid: Number(f[1]), self: (Number(f[11]) + Number(f[12])) * TICK_S, children: (Number(f[13]) + Number(f[14])) * TICK_S };
  } catch {
    return null;
  }
}

/** CPU seconds of a process tree (the process, its live children and its reaped children): PostgreSQL's backends. */
function treeTimes(root) {
  const rootTimes = procTimes(root);
  if (!rootTimes) return 0;
  let total = rootTimes.self + rootTimes.children;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const t = procTimes(Number(name));
    if (t && t.ppid === root) total += t.self + t.children;
  }
  return total;
}

function machineTimes() {
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return { busy: (cpu.reduce((a, b) => a + b, 0) - idle) * TICK_S, all: cpu.reduce((a, b) => a + b, 0) * TICK_S };
}

/** processes: { name: pid }, trees: { name: pid } (whole process trees). Synchronous and cheap. */
export function cpuSnapshot(processes, trees = {}) {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    machine: machineTimes(),
    bench: (usage.user + usage.system) / 1e6,
    processes: Object.fromEntries(Object.entries(processes).map(([n, pid]) => [n, procTimes(pid)?.self ?? null])),
    trees: Object.fromEntries(Object.entries(trees).map(([n, pid]) => [n, treeTimes(pid)])),
  };
}

/** Per process: average cores used between the snapshots (1.0 = one core busy all the time). */
export function cpuBetween(a, b) {
  const s = (b.at - a.at) / 1000;
  const out = { machineBusy: (b.machine.busy - a.machine.busy) / (b.machine.all - a.machine.all), bench: (b.bench - a.bench) / s };
  for (const n of Object.keys(a.processes))
    if (a.processes[n] !== null && b.processes[n] !== null) out[n] = (b.processes[n] - a.processes[n]) / s;
  for (const n of Object.keys(a.trees)) out[n] = (b.trees[n] - a.trees[n]) / s;
  return out;
}
