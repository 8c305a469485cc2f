// One topology under load: fresh scratch databases, the apps as child processes (the built code of the snapshot),
// the shop, the open-loop workload, and what it measured (latency histograms, CPU, database counters).
import os from 'node:os';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { Child, freePort, pgClient, scratchDatabase, startRedis, waitReady } from '../../harness/infra.mjs';
import { offerOrders, setUpShop } from '../../harness/workload.mjs';
import { dbosTopology } from '../peers/dbos/topology.mjs';
import {
  analyse,
  calibrateClock,
  commitTimestamps,
  confirmationTimes,
  countersBetween,
  cpuBetween,
  cpuSnapshot,
  databaseCounters,
} from './measure.mjs';

export const TOPOLOGIES = {
  monolith: { label: 'monolith', remote: false, dash: null },
  // The same monolith with its observability off (no /metrics, no spans, no per-request log line): what it costs
  'monolith-uninstrumented': {
    label: 'monolith (uninstrumented)',
    remote: false,
    dash: '1 3',
    env: { METRICS_ENABLED: 'false', OTEL_SDK_DISABLED: 'true', LOG_REQUESTS: 'false' },
  },
  extracted: { label: 'extracted', remote: true, redisFsync: 'always', dash: '8 4' },
  'extracted-everysec': { label: 'extracted (Redis fsync everysec)', remote: true, redisFsync: 'everysec', dash: '2 3' },
  dbos: dbosTopology, // peer (issue 9), tools/bench/peers/dbos: app(ctx) → the process to start instead of the monolith; pending(admin)
};

/**
 * Roles are cluster-wide: provisioning with another secret would change the module roles' passwords under any
 * other app or test using the same server. So the default is the test suite's secret, which the apps accept on an
 * external database only with NODE_ENV=test (see assertSafeToServe); NODE_ENV only decides such checks.
 */
export const ROLE_SECRET = process.env.MODULE_DB_SECRET || 'test-secret-not-for-production';

/** A clean environment for the apps: nothing of this shell's app settings (DATABASE_URL, PORT, ...) leaks in. */
function baseEnv(extra) {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
  return {
    ...Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
    // Not production: that refuses the test secret and needs tokens (AUTH_MODE=jwt). The code that runs is the same.
    NODE_ENV: 'test',
    LOG_FORMAT: 'json',
    HOST: '127.0.0.1',
    MODULE_DB_SECRET: ROLE_SECRET,
    ...extra,
  };
}

function progressPrinter(label) {
  const tty = Boolean(process.stdout.isTTY);
  let last = '';
  return {
    line(text) {
      last = `[${label}] ${text}`;
      if (tty) process.stdout.write(`\r${last.padEnd(110)}`);
      else console.log(last);
    },
    done() {
      if (tty && last) process.stdout.write('\n');
    },
  };
}

/**
 * Runs `name` at `rate` orders/s for opts.warmup + opts.seconds, on fresh databases and fresh processes, and returns
 * what it measured. `quiet`: one line at the end instead of progress (the capacity search's trials).
 */
export async function runTopology(name, rate, opts, ctx) {
  const topology = TOPOLOGIES[name];
  const label = `${topology.label} @ ${rate}/s`;
  const say = (text) => console.log(`[${label}] ${text}`);
  const loadStart = os.loadavg()[0];
  say(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; starting`,
  );

  const mainDb = await scratchDatabase(ctx.server.url, 'bench');
  const billingDb = topology.remote ? await scratchDatabase(ctx.server.url, 'bench_billing') : null;
  const redis = topology.remote ? await startRedis(process.env.REDIS_URL, { fsync: topology.redisFsync, logDir: ctx.logDir }) : null;
  const children = [];
  const admin = pgClient(mainDb.url);
  const stats = pgClient(mainDb.url);
  try {
    const port = await freePort();
    const ordersUrl = `http://127.0.0.1:${port}`;
    let billingUrl = ordersUrl;
    const pids = {};
    if (topology.remote) {
      const billingPort = await freePort();
      billingUrl = `http://127.0.0.1:${billingPort}`;
      const billing = new Child('billing-service', process.execPath, [...opts.nodeArg, ctx.code.billing], {
        inheritEnv: false,
        env: baseEnv({
          BILLING_DATABASE_URL: billingDb.url,
          BILLING_DATABASE_ADMIN_URL: billingDb.url, // provision and migrate at start (a scratch database)
          BILLING_PORT: String(billingPort),
          REDIS_URL: redis.url,
          DATA_DIR: path.join(ctx.logDir, `${name}-billing-data`), // unused with a database URL; never the repo's .data
          ...opts.appEnv,
        }),
        logFile: path.join(ctx.logDir, `${name}-billing-service.log`),
      });
      children.push(billing);
      pids['billing-service'] = billing.pid;
      await waitReady(billing, `${billingUrl}/health/ready`);
    }
    const app = topology.app?.(ctx) ?? { name: 'monolith', script: ctx.code.monolith, env: {} }; // a peer's app, or the monolith
    const monolith = new Child(app.name, process.execPath, [...opts.nodeArg, app.script], {
      inheritEnv: false,
      env: baseEnv({
        DATABASE_URL: mainDb.url,
        DATABASE_ADMIN_URL: mainDb.url, // provision and migrate at start (a scratch database)
        PORT: String(port),
        DATA_DIR: path.join(ctx.logDir, `${name}-monolith-data`),
        ...(topology.remote ? { REMOTE_MODULES: 'billing', REDIS_URL: redis.url } : {}),
        ...topology.env,
        ...app.env,
        ...opts.appEnv,
      }),
      logFile: path.join(ctx.logDir, `${name}-${app.name}.log`),
    });
    children.push(monolith);
    pids.monolith = monolith.pid;
    await waitReady(monolith, `${ordersUrl}/health/ready`);
    if (redis?.child) pids.redis = redis.child.pid;
    say(`ready (orders on ${ordersUrl}${topology.remote ? `, billing on ${billingUrl}, Redis ${redis.url}` : ''}); setting up the shop`);
    await setUpShop({ ordersUrl, billingUrl, skus: opts.skus, customers: opts.customers });

    await admin.connect();
    const withCommitTs = await commitTimestamps(admin);
    const clockBefore = await calibrateClock(admin);
    const count = async (status) =>
      Number((await admin.query(`SELECT count(*)::int AS n FROM orders.orders WHERE status = $1`, [status])).rows[0].n);

    const progress = progressPrinter(label);
    let confirmed = 0;
    let querying = false;
    const snapshots = {};
    const counters = {};
    const databases = [mainDb.name, ...(billingDb ? [billingDb.name] : [])];
    await stats.connect();
    const diagnose = opts.diagnose && ctx.server.embedded;
    if (diagnose) await stats.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const trees = ctx.server.embedded ? { postgres: ctx.server.pid } : {};
    const load = await offerOrders({
      ordersUrl,
      rate,
      warmupS: opts.warmup,
      measureS: opts.seconds,
      skus: opts.skus,
      customers: opts.customers,
      graceS: opts.grace,
      hooks: {
        onPhase: (phase) => {
          snapshots[phase] = cpuSnapshot(pids, trees);
          if (diagnose && phase === 'measure') void stats.query('SELECT pg_stat_statements_reset()');
          counters[phase] = databaseCounters(stats, databases); // awaited after the run: must not hold up the schedule
        },
        progress: (p) => {
          if (querying) return;
          querying = true;
          count('CONFIRMED')
            .then((n) => (confirmed = n))
            .catch(() => undefined)
            .finally(() => {
              querying = false;
              progress.line(
                `${p.phase.padEnd(7)} ${p.elapsedS.toFixed(0).padStart(3)} s  sent ${p.sent}  accepted ${p.accepted}  confirmed ${confirmed}  errors ${p.errors}`,
              );
            });
        },
        pending: () => (topology.pending ? topology.pending(admin) : count('PENDING')),
      },
    });
    progress.done();
    const loadEnd = os.loadavg()[0];
    const died = [...children, ...(redis?.child ? [redis.child] : [])]
      .filter((c) => c.died)
      .map(
        (c) => `${c.name} exited during the run (${c.died.signal ?? `code ${c.died.code}`} at ${c.died.at}; not stopped by the benchmark)`,
      );
    for (const d of died) console.error(`[${label}] DISTURBED: ${d}`);
    const clockAfter = await calibrateClock(admin);
    const clock = { offsetMs: (clockBefore.offsetMs + clockAfter.offsetMs) / 2, driftMs: clockAfter.offsetMs - clockBefore.offsetMs };
    const ids = load.ids.filter(Boolean);
    const censorAt = performance.now();
    const confirmations = await confirmationTimes(admin, ids, withCommitTs);
    const result = analyse(load, confirmations, clock, censorAt);
    const cpu = cpuBetween(snapshots.measure, snapshots.settle);
    const db = countersBetween(await counters.measure, await counters.settle);
    if (diagnose) await printTopStatements(stats, databases, result.confirmed, path.join(ctx.logDir, `${name}-${rate}-statements.txt`));
    const ours = ['monolith', 'billing-service', 'redis', 'postgres', 'bench'].reduce((sum, n) => sum + (cpu[n] ?? 0), 0);
    cpu.others = cpu.machineBusy * ctx.machine.cpus - ours;
    say(
      `done: ${result.confirmed}/${result.measured} measured orders confirmed; clock offset vs timeOrigin ${clockBefore.vsTimeOriginMs.toFixed(3)} ms ` +
        `(±${(clockBefore.rttMs / 2).toFixed(3)}), drift ${clock.driftMs.toFixed(3)} ms; load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    if (died.length) result.failed = true;
    return {
      disturbed: died,
      topology: name,
      label: topology.label,
      rate,
      result,
      cpu,
      db,
      seconds: opts.seconds,
      load: { start: loadStart, end: loadEnd },
      loopDelay: load.loopDelay,
      firstErrors: load.errors.slice(0, 5),
      redis: redis ? { version: redis.version, fsync: redis.fsync, own: redis.own } : null,
      failed: result.failed,
    };
  } finally {
    await admin.end().catch(() => undefined);
    await stats.end().catch(() => undefined);
    for (const child of children.reverse()) {
      const { code, signal } = await child.stop();
      if (code !== 0) console.error(`[${label}] ${child.name} exited with ${code ?? signal} (log: ${child.logFile})`);
    }
    await redis?.stop();
    await billingDb?.drop().catch((e) => console.error(`could not drop ${billingDb.name}: ${e.message}`));
    await mainDb.drop().catch((e) => console.error(`could not drop ${mainDb.name}: ${e.message}`));
  }
}

/** Where PostgreSQL spent its time since the measured window started (statements of all sessions, settle included). */
async function printTopStatements(client, databases, orders, file) {
  const { rows } = await client.query(
    `SELECT s.calls::int AS calls, s.total_exec_time AS total, s.mean_exec_time AS mean, s.rows::int AS rows,
            r.rolname AS role, regexp_replace(s.query, '\\s+', ' ', 'g') AS query
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
      WHERE d.datname = ANY($1) ORDER BY s.total_exec_time DESC LIMIT 25`,
    [databases],
  );
  const { rows: all } = await client.query(
    `SELECT sum(s.calls)::bigint::text AS calls, sum(s.total_exec_time) AS total FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ANY($1)`,
    [databases],
  );
  const lines = [
    `statements: ${Number(all[0].calls)} calls (${(Number(all[0].calls) / Math.max(1, orders)).toFixed(1)} per measured order), ${Number(all[0].total).toFixed(0)} ms executing`,
    `   calls  per order  total ms  mean ms  role             query`,
    ...rows.map(
      (r) =>
        `${String(r.calls).padStart(8)}  ${(r.calls / Math.max(1, orders)).toFixed(2).padStart(9)}  ${r.total.toFixed(0).padStart(8)}  ${r.mean.toFixed(3).padStart(7)}  ${r.role.padEnd(16)} ${r.query.slice(0, 150)}`,
    ),
  ];
  writeFileSync(file, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
}
