#!/usr/bin/env node
// npm run report:modules -- [--url http://127.0.0.1:3000,http://127.0.0.1:3001] [--window 10] [--hop-ms 3]
//
// Scrapes the /metrics of one or more running instances twice, --window seconds apart, and prints per module where
// its time goes, its rates and p99s, the messages that cross its boundary per business operation, and what
// extracting it would add. docs/extracting-a-service.md ("Reading the module report") says how to read it.
import { Command, Option } from 'commander';
import Table from 'cli-table3';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const built = path.join(root, 'dist/libs/platform/src/observability/module-report/module-report.js');
if (!existsSync(built)) {
  console.error(`${built} is missing: run 'npm run build' first (npm run report:modules does it for you).`);
  process.exit(1);
}
const { moduleReport, parsePrometheusText } = await import(built);

const number = (name) => (v) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0, got '${v}'`);
  return n;
};

const program = new Command('report:modules')
  .description("Per module: share of handler and database time, rates, p99s, coupling per operation, and extraction's estimated cost")
  .option('--url <list>', 'comma list of base URLs of the instances (every host of a topology)', 'http://127.0.0.1:3000')
  .option('--window <s>', 'seconds between the two scrapes; 0: one scrape, over the life of the processes', number('window'), 10)
  .option('--operation <route>', 'the business operation coupling is counted per', 'POST /orders')
  .option('--hop-ms <ms>', 'latency one extra hop adds (default: docs/benchmarks.md, hop-cost line)', number('hop-ms'))
  .option('--hop-cpu-ms <ms>', 'CPU one extra hop costs (default: docs/benchmarks.md, hop-cost line)', number('hop-cpu-ms'))
  .addOption(new Option('--metrics-token <token>', 'bearer token when the instances set METRICS_TOKEN').env('METRICS_TOKEN'))
  .option('--json', 'print the report as JSON')
  .parse();
const o = program.opts();

/** `<!-- hop-cost: latency-ms=… cpu-ms=… -->` in docs/benchmarks.md, written from a bench run of both topologies. */
function hopCostFromBenchmarks() {
  const file = path.join(root, 'docs/benchmarks.md');
  if (!existsSync(file)) return {};
  const m = /<!--\s*hop-cost:([^>]*)-->/.exec(readFileSync(file, 'utf8'));
  if (!m) return {};
  const value = (key) => {
    const v = new RegExp(`${key}=([0-9.]+)`).exec(m[1]);
    return v ? Number(v[1]) : undefined;
  };
  return { latencyMs: value('latency-ms'), cpuMs: value('cpu-ms') };
}

async function scrape(urls) {
  const samples = [];
  for (const url of urls) {
    const res = await fetch(new URL('/metrics', url), {
      headers: o.metricsToken ? { authorization: `Bearer ${o.metricsToken}` } : {},
    }).catch((error) => {
      throw new Error(
        `Could not reach ${url}/metrics (${error.cause?.code ?? error.message}): is the instance running, with METRICS_ENABLED?`,
      );
    });
    if (res.status === 401) throw new Error(`${url}/metrics needs its METRICS_TOKEN: pass --metrics-token (or set METRICS_TOKEN).`);
    if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}: is METRICS_ENABLED=false there?`);
    samples.push(...parsePrometheusText(await res.text()));
  }
  return samples;
}

const ms = (v) => (v === null || v === undefined ? '–' : `${v} ms`);
const pct = (v) => `${Math.round(v * 100)} %`;

try {
  const urls = o.url
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  const fromDocs = hopCostFromBenchmarks();
  const hopLatencyMs = o.hopMs ?? fromDocs.latencyMs;
  const hopCpuMs = o.hopCpuMs ?? fromDocs.cpuMs;
  let before;
  let windowSeconds;
  if (o.window > 0) {
    before = await scrape(urls);
    console.error(`Scraped ${urls.join(', ')}; again in ${o.window} s…`);
    await new Promise((r) => setTimeout(r, o.window * 1000));
    windowSeconds = o.window;
  }
  const now = await scrape(urls);
  if (!before) {
    const start = Math.min(...now.filter((s) => s.name === 'process_start_time_seconds').map((s) => s.value));
    windowSeconds = Number.isFinite(start) ? Date.now() / 1000 - start : 1;
  }
  const report = moduleReport(now, { windowSeconds, before, operation: o.operation, hopLatencyMs, hopCpuMs });
  if (o.json) {
    console.log(JSON.stringify(report, null, 2));
    process.exit(0);
  }
  console.log(
    `Over ${report.windowSeconds} s: ${report.operation.count} × ${report.operation.name} (${report.operation.perSecond}/s). ` +
      `Hop cost: ${ms(report.hop.latencyMs)} latency, ${ms(report.hop.cpuMs)} CPU${hopLatencyMs === undefined ? ' (pass --hop-ms, or measure it with npm run bench)' : ''}.`,
  );
  const table = new Table({
    head: [
      'module',
      'handler time',
      'db time',
      'req/s',
      'msg/s',
      'req p99',
      'handler p99',
      'in/op',
      'out/op',
      'extraction adds (latency, CPU)/op',
    ],
  });
  for (const r of report.modules) {
    table.push([
      r.module,
      `${r.handlerSeconds} s (${pct(r.handlerShare)})`,
      `${r.databaseSeconds} s (${pct(r.databaseShare)})`,
      r.requestsPerSecond,
      r.messagesPerSecond,
      ms(r.requestP99Ms),
      ms(r.handlerP99Ms),
      r.inPerOperation ?? '–',
      r.outPerOperation ?? '–',
      r.extraction.hopsPerOperation === null
        ? '–'
        : `${r.extraction.hopsPerOperation} hops: ${ms(r.extraction.addedLatencyMs)}, ${ms(r.extraction.addedCpuMs)}`,
    ]);
  }
  console.log(table.toString());
  console.log('p99s are bucket upper bounds. How to read this: docs/extracting-a-service.md, "Reading the module report".');
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
