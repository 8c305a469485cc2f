#!/usr/bin/env node
// Try one queue peer alone, e.g.
//   node tools/bench/peers/queues/run.mjs --tool pg-boss --mode backlog --messages 20000 --keys 1000
//   node tools/bench/peers/queues/run.mjs --tool graphile-worker --mode open-loop --rate 300 --seconds 10 --order per-key
// PostgreSQL: --database-url or DATABASE_URL (a scratch database bench_peer_* is created there and dropped), else an
// embedded PostgreSQL in a temporary directory, whose postmaster's children are then the PostgreSQL CPU counted.
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanupAll, cleanupOnSignals, scratchDatabase, startPostgres } from '../../../harness/infra.mjs';
import { postmasterChildren } from './cpu.mjs';
import { QUEUE_PEERS, summaryLine } from './index.mjs';

const whole = (name) => (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a whole number > 0`);
  return n;
};

const o = new Command()
  .name('node tools/bench/peers/queues/run.mjs')
  .description('One run of a queue peer (pg-boss 10.x or graphile-worker 0.16.x) with a no-op handler; prints a line of figures.')
  .addOption(new Option('--tool <name>', 'the peer').choices(Object.keys(QUEUE_PEERS)).makeOptionMandatory())
  .addOption(
    new Option('--mode <mode>', 'backlog: N pre-committed, until all handled; open-loop: at --rate')
      .choices(['backlog', 'open-loop'])
      .default('backlog'),
  )
  .addOption(
    new Option('--order <variant>', "none, or per-key (the tool's way of serial per-key handling)")
      .choices(['none', 'per-key'])
      .default('none'),
  )
  .option('--messages <n>', 'backlog size', whole('messages'), 20_000)
  .option('--keys <n>', 'distinct keys', whole('keys'), 1_000)
  .option('--rate <msg/s>', 'open loop: messages per second', whole('rate'), 300)
  .option('--seconds <s>', 'open loop: how long', whole('seconds'), 10)
  .option('--timeout <s>', 'give up when not all handled by then', whole('timeout'), 120)
  .option('--settings <json>', "override the tool's settings, e.g. '{\"workers\":4}'", (v) => JSON.parse(v), {})
  .option('--database-url <url>', 'admin URL of a PostgreSQL server (default: DATABASE_URL, else an embedded one)')
  .parse(process.argv)
  .opts();

async function main() {
  cleanupOnSignals();
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'bench-peer-'));
  const server = await startPostgres(o.databaseUrl ?? process.env.DATABASE_URL, logDir);
  try {
    const db = await scratchDatabase(server.url, 'bench_peer');
    try {
      const result = await QUEUE_PEERS[o.tool].run({
        databaseUrl: db.url,
        mode: o.mode,
        order: o.order,
        messages: o.messages,
        keys: o.keys,
        rate: o.rate,
        seconds: o.seconds,
        timeoutS: o.timeout,
        settings: o.settings,
        ...(server.embedded ? { pgPids: async () => postmasterChildren(server.pid) } : {}),
      });
      console.log(summaryLine(result));
      console.log(`settings: ${JSON.stringify(result.settings)}; per-key order: ${result.orderGuarantee}`);
    } finally {
      await db.drop();
    }
  } finally {
    await server.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
}

main()
  .then(() => cleanupAll())
  .catch(async (error) => {
    console.error(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    await cleanupAll();
    process.exitCode = 1;
  });
