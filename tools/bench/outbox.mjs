#!/usr/bin/env node
// `npm run bench:outbox`: the outbox relay beside pg-boss and graphile-worker on one PostgreSQL, same messages, same
// no-op consumer, each with its recommended settings, in interleaved rounds, so that every ratio compares figures taken
// minutes apart on the same machine (an absolute figure here moves 2× from hour to hour). Experiments:
//   backlog: --messages over --keys committed up front, until all handled;
//   open loop at --rate (and at --peer-rate, where a polling peer can keep up): commit returned → handler start.
// Each peer runs twice: as it comes (no order) and in its per-key variant, since the relay keeps per-key order.
//
//   npm run bench:outbox                                   # 2 rounds, 20,000 / 1,000 keys, 1,000 msg/s and 300 msg/s for 10 s
//   npm run bench:outbox -- --rounds 1 --messages 2000 --seconds 3 --peer-rate 0
//   npm run bench:outbox -- --write                         # also rewrite the bench:outbox section of docs/benchmarks.md
//
// PostgreSQL: --database-url (scratch databases are created there and dropped), else an embedded PostgreSQL from the
// project's binaries in a temporary directory; then all its processes' CPU is counted, else each run's backends.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { cleanupOnSignals, runMain, scratchDatabase, startPostgres, tempDir, withClient } from '../harness/infra.mjs';
import { writeGeneratedSection } from '../harness/markdown.mjs';
import { codeVersion, repo } from '../harness/code.mjs';
import { END, RELAY, START, failures, markdownSection, verdicts } from './lib/outbox-report.mjs';
import { postmasterChildren } from './peers/queues/cpu.mjs';
import { QUEUE_PEERS, summaryLine } from './peers/queues/index.mjs';

const RELAY_JS = path.join(repo, 'dist/libs/platform/src/messaging/bench/outbox.bench.js');

const count =
  (name, { zero = false } = {}) =>
  (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || (n === 0 && !zero))
      throw new InvalidArgumentError(`${name} must be a whole number ${zero ? '≥ 0' : '> 0'}`);
    return n;
  };

const o = new Command()
  .name('npm run bench:outbox --')
  .description(
    'The outbox relay beside pg-boss and graphile-worker: backlog throughput and open-loop latency, interleaved rounds, ratios within a run.',
  )
  .option('--rounds <n>', 'rounds; each runs every tool once per experiment', count('rounds'), 2)
  .option('--messages <n>', 'backlog size', count('messages'), 20_000)
  .option('--keys <n>', 'distinct keys (message i has key i mod keys)', count('keys'), 1_000)
  .option('--rate <msg/s>', 'open loop: offered rate', count('rate'), 1_000)
  .option(
    '--peer-rate <msg/s>',
    'open loop again at this rate, for peers that cannot keep up with --rate (0: skip)',
    count('peer-rate', { zero: true }),
    300,
  )
  .option('--seconds <s>', 'open loop: how long each run sends', count('seconds'), 10)
  .option('--timeout <s>', 'a run that has not handled everything by then fails (the others go on)', count('timeout'), 120)
  .option('--no-per-key', "skip the peers' per-key variants")
  .option('--no-warmup', 'skip the unrecorded warm-up backlog of each row before the first round')
  .addOption(new Option('--tools <list>', 'comma list of rows to run').default(`${RELAY},pg-boss,graphile-worker`))
  .option(
    '--relay-settings <json>',
    'override the relay\'s settings, e.g. \'{"poolSize":10,"slots":32,"relay":{"batchSize":500}}\'',
    (v) => JSON.parse(v),
    {},
  )
  .option('--database-url <url>', 'admin URL of a PostgreSQL server (default: an embedded one)')
  .option('--write', 'rewrite the bench:outbox section of --out', false)
  .option('--out <file>', 'markdown file with the bench:outbox markers', 'docs/benchmarks.md')
  .parse(process.argv)
  .opts();

const say = (line) => process.stderr.write(`${line}\n`);

function loadRelay() {
  if (!existsSync(RELAY_JS)) throw new Error(`${RELAY_JS} is missing: run 'npx nest build' first (npm run bench:outbox does it).`);
  return createRequire(import.meta.url)(RELAY_JS).runRelay;
}

/** The rows: the relay, then each peer as it comes and in its per-key variant. */
function rowsToRun(runRelay, peerDbUrl) {
  const wanted = o.tools.split(',').map((t) => t.trim());
  const unknown = wanted.filter((t) => t !== RELAY && !QUEUE_PEERS[t]);
  if (unknown.length)
    throw new Error(`--tools: unknown ${unknown.join(', ')}; choose from ${[RELAY, ...Object.keys(QUEUE_PEERS)].join(', ')}`);
  const rows = [];
  if (wanted.includes(RELAY)) rows.push({ tool: RELAY, order: 'per-key', run: (x) => runRelay({ ...x, settings: o.relaySettings }) });
  for (const tool of Object.keys(QUEUE_PEERS).filter((t) => wanted.includes(t)))
    for (const order of o.perKey ? QUEUE_PEERS[tool].adapter.orders : ['none'])
      rows.push({
        tool,
        order,
        version: QUEUE_PEERS[tool].adapter.version,
        run: (x) => QUEUE_PEERS[tool].run({ ...x, order, databaseUrl: peerDbUrl }),
      });
  return rows;
}

function experimentsToRun() {
  const list = [
    { mode: 'backlog', title: `Backlog: ${o.messages.toLocaleString('en-US')} messages over ${o.keys.toLocaleString('en-US')} keys` },
  ];
  for (const rate of [o.rate, o.peerRate].filter((r, i) => r > 0 && (i === 0 || r !== o.rate)))
    list.push({ mode: 'open-loop', rate, title: `Open loop: ${rate.toLocaleString('en-US')} msg/s offered for ${o.seconds} s` });
  return list;
}

function machine() {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ?? os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
}

async function main() {
  cleanupOnSignals('the outbox benchmark');
  const runRelay = loadRelay();
  const logDir = tempDir('monolith-first-bench-outbox-');
  const server = await startPostgres(o.databaseUrl, logDir);
  const postgres = (await withClient(server.url, (c) => c.query('SHOW server_version'))).rows[0].server_version;
  const peerDb = await scratchDatabase(server.url, 'bench_outbox_peers');
  const pgPids = server.embedded ? async () => postmasterChildren(server.pid) : undefined;
  const rows = rowsToRun(runRelay, peerDb.url);
  const experiments = experimentsToRun().map((e) => ({
    ...e,
    rows: rows.map((r) => ({ tool: r.tool, order: r.order, version: r.version, runs: [] })),
  }));
  const load = os.loadavg()[0].toFixed(2);
  const common = { databaseUrl: server.url, keys: o.keys, seconds: o.seconds, timeoutS: o.timeout, ...(pgPids ? { pgPids } : {}) };
  say(
    `PostgreSQL ${postgres} (${server.embedded ? 'embedded' : o.databaseUrl.replace(/\/\/[^@]*@/, '//')}); ${rows.length} rows × ${experiments.length} experiments × ${o.rounds} round(s)`,
  );

  if (o.warmup)
    for (const row of rows) {
      say(`warm-up: ${row.tool} ${row.order}`);
      // A short timeout: a warm-up that hangs (pg-boss's singleton deadlock, peers/README.md) must not cost the whole --timeout.
      await row
        .run({ ...common, mode: 'backlog', messages: Math.min(2_000, o.messages), timeoutS: Math.min(30, o.timeout) })
        .catch((e) => say(`  warm-up failed: ${e.message}`));
    }
  for (let round = 0; round < o.rounds; round++) {
    for (const e of experiments) {
      // Reversed every other round, so a drift of the machine's speed during a round does not always favour the same row.
      const order = rows.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const row = rows[i];
        const what = `round ${round + 1}/${o.rounds}, ${e.mode}${e.rate ? ` ${e.rate}/s` : ''}, ${row.tool} ${row.order}`;
        try {
          const result = await row.run({ ...common, mode: e.mode, messages: o.messages, rate: e.rate });
          e.rows[i].runs[round] = result;
          if (row.tool === RELAY) e.rows[i].version = result.version;
          say(`${what}: ${summaryLine(result)}`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          e.rows[i].runs[round] = { failed: message };
          say(`${what}: FAILED ${message}`);
        }
      }
    }
  }
  await peerDb.drop();

  const relaySettings = experiments[0].rows.find((r) => r.tool === RELAY)?.runs.find((r) => r && !r.failed)?.settings;
  const settings = [
    ...(relaySettings
      ? [
          `outbox relay: pool ${relaySettings.poolSize} per module, ${relaySettings.slots} deliveries at once, relay options ${JSON.stringify(relaySettings.relay)}${Object.keys(o.relaySettings).length ? ' (--relay-settings)' : ' (the defaults: DB_CONNECTIONS 12 over two modules, MessagingModule’s 16 slots, the relay’s own options)'}, in-process transport, hand-off after commit`,
        ]
      : []),
    ...Object.entries(QUEUE_PEERS)
      .filter(([tool]) => rows.some((r) => r.tool === tool))
      .map(([tool, p]) => `${tool} ${p.adapter.version}: ${JSON.stringify(p.settings)} (tools/bench/peers/README.md)`),
  ];
  const run = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    args: process.argv.slice(2).join(' ') || '(defaults)',
    machine: machine(),
    node: process.version,
    postgres: `${postgres} (${server.embedded ? 'embedded, started by the benchmark' : '--database-url'})`,
    postgresCpu: server.embedded ? 'every process of the embedded server' : "each run's database backends",
    code: codeVersion(),
    load: `${load} → ${os.loadavg()[0].toFixed(2)}`,
    messages: o.messages,
    keys: o.keys,
    seconds: o.seconds,
    rounds: o.rounds,
    warmup: o.warmup,
  };
  const section = markdownSection({ run, experiments, settings });
  console.log(section);
  if (o.write) {
    const file = path.resolve(repo, o.out);
    if (!readFileSync(file, 'utf8').includes(START))
      throw new Error(`${o.out} has no ${START} … ${END} markers: add them where the section belongs`);
    await writeGeneratedSection(file, section, { start: START, end: END });
    say(`wrote the bench:outbox section of ${o.out}`);
  }
  for (const v of verdicts(experiments)) say(`${v.verdict.padEnd(4)}  ${v.name}: ${v.measured}`);
  await server.stop();
  // A peer that fails is a finding (in the tables); the relay failing is this benchmark failing.
  return failures(experiments).some((f) => f.includes(`, ${RELAY}:`)) ? 1 : 0;
}

runMain(main, () => null);
