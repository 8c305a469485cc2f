// Tables for the console and for docs/benchmarks.md, and the targets.
import { writeGeneratedSection } from '../../harness/markdown.mjs';

export const START = '<!-- bench:topologies:start -->';
export const END = '<!-- bench:topologies:end -->';
export const PERCENTILES = [50, 90, 99, 99.9];
/** The targets of issue 9, all relative to figures of the same run: the floor, and the monolith. */
export const TARGETS = {
  p99Ms: 100,
  capacityVsFloor: 0.5,
  cpuVsFloor: 2,
  extractedP99VsMonolith: 1.5,
  extractedCapacityVsMonolith: 0.8,
};
const ms = (us) => (us / 1000).toFixed(1);
const pct = (h, p) => h.getValueAtPercentile(p);
const row = (cells) => `| ${cells.join(' | ')} |`;
const cores = (v) => (v === undefined || v === null || Number.isNaN(v) ? '–' : v.toFixed(2));

/** A latency cell; "≥" when the value comes from orders not confirmed by the end (a lower bound). */
function latencyCell(r, us, histogram = r.result.histograms.endToEnd) {
  const bound = histogram === r.result.histograms.endToEnd && r.result.censoredFromUs !== null && us >= r.result.censoredFromUs;
  return `${bound ? '≥ ' : ''}${ms(us)}`;
}

export function percentileCells(r, histogram = r.result.histograms.endToEnd) {
  if (histogram.totalCount === 0) return [...PERCENTILES.map(() => '–'), '–'];
  return [...PERCENTILES.map((p) => latencyCell(r, pct(histogram, p), histogram)), latencyCell(r, histogram.maxValue, histogram)];
}

function ratioCell(ext, mono, extUs, monoUs) {
  if (ext.result.failed || mono.result.failed) return 'n/a';
  return monoUs > 0 ? `${(extUs / monoUs).toFixed(2)}×` : 'n/a';
}

const rateLabel = (r) => `${r.label} @ ${r.rate}/s`;

/** CPU per confirmed order (ms) of the processes this run owns: the apps, PostgreSQL (when embedded) and Redis. */
export function ownCpuMsPerOrder(r) {
  const c = r.cpu;
  if (c.postgres === undefined) return null;
  const cores = ['monolith', 'billing-service', 'postgres', 'redis'].reduce((sum, n) => sum + (c[n] ?? 0), 0);
  return r.result.throughput.confirmed > 0 ? (cores * 1000) / r.result.throughput.confirmed : null;
}

const ratio = (a, b) => (a === null || b === null || b === undefined || !(b > 0) ? null : a / b);
const times = (x) => (x === null ? 'n/a' : `${x.toFixed(2)}×`);

/**
 * PASS/MISS for each target of issue 9. `floor`: the floor's figures (or null); `capacities`: topology → search;
 * the fixed-rate runs are judged at the half-floor rate (`halfFloorRate`).
 */
export function judge(results, { floor, capacities, halfFloorRate }) {
  const verdicts = [];
  const add = (name, measured, pass) => verdicts.push({ name, measured, verdict: pass === null ? 'n/a' : pass ? 'PASS' : 'MISS' });
  const cap = (t) => capacities[t]?.capacity ?? null;
  const at = results.filter((r) => r.rate === halfFloorRate);
  const mono = at.find((r) => r.topology === 'monolith');
  const ext = at.find((r) => r.topology === 'extracted');

  const capFloor = ratio(cap('monolith'), floor?.perSecond ?? null);
  add(
    `monolith capacity ≥ ${TARGETS.capacityVsFloor} × floor`,
    capFloor === null ? 'not measured' : `${cap('monolith')}/s ÷ ${floor.perSecond.toFixed(0)}/s = ${times(capFloor)}`,
    capFloor === null ? null : capFloor >= TARGETS.capacityVsFloor,
  );
  const cpu = mono ? ratio(ownCpuMsPerOrder(mono), floor?.cpuMsPerOrder.own ?? null) : null;
  add(
    `monolith CPU per order ≤ ${TARGETS.cpuVsFloor} × floor's`,
    cpu === null ? 'not measured' : `${ownCpuMsPerOrder(mono).toFixed(1)} ms ÷ ${floor.cpuMsPerOrder.own.toFixed(1)} ms = ${times(cpu)}`,
    cpu === null ? null : cpu <= TARGETS.cpuVsFloor,
  );
  const monoP99 = mono ? pct(mono.result.histograms.endToEnd, 99) / 1000 : null;
  add(
    `at half the floor's rate (${halfFloorRate ?? '?'}/s) every order confirmed, monolith p99 ≤ ${TARGETS.p99Ms} ms`,
    mono
      ? `${mono.result.failed ? `FAILED (${mono.result.censored} not confirmed), ` : ''}p99 ${latencyCell(mono, monoP99 * 1000)} ms`
      : 'not run',
    mono ? !mono.result.failed && monoP99 <= TARGETS.p99Ms : null,
  );
  const premium =
    mono && ext && !mono.result.failed && !ext.result.failed ? pct(ext.result.histograms.endToEnd, 99) / 1000 / monoP99 : null;
  add(
    `extracted p99 ≤ ${TARGETS.extractedP99VsMonolith} × monolith's at that rate`,
    premium === null ? (mono && ext ? 'n/a: a run did not keep up' : 'not run') : times(premium),
    premium === null ? null : premium <= TARGETS.extractedP99VsMonolith,
  );
  const extCap = ratio(cap('extracted'), cap('monolith'));
  add(
    `extracted capacity ≥ ${TARGETS.extractedCapacityVsMonolith} × monolith's`,
    extCap === null ? 'not measured' : `${cap('extracted')}/s ÷ ${cap('monolith')}/s = ${times(extCap)}`,
    extCap === null ? null : extCap >= TARGETS.extractedCapacityVsMonolith,
  );
  const dbos = ratio(cap('monolith'), cap('dbos'));
  add(
    "monolith capacity ≥ DBOS Transact's (peer)",
    dbos === null ? 'not measured' : `${cap('monolith')}/s ÷ ${cap('dbos')}/s = ${times(dbos)}`,
    dbos === null ? null : dbos >= 1,
  );
  return verdicts;
}

/** One row per topology and the floor: capacity and CPU per order, each as a ratio to the floor's. */
export function summaryTable({ results, floor, capacities, halfFloorRate }) {
  const lines = [
    row([
      '',
      'Capacity (orders/s, p99 ≤ 100 ms)',
      '÷ floor',
      `CPU per order at ${halfFloorRate ?? '–'}/s (ms, own processes)`,
      '÷ floor',
      'p50 / p99 at that rate (ms)',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
  ];
  if (floor) {
    lines.push(
      row([
        `**floor** (plain \`pg\`, ${floor.clients} clients, saturated)`,
        floor.perSecond.toFixed(0),
        '1.00×',
        floor.cpuMsPerOrder.own === null
          ? '–'
          : `${floor.cpuMsPerOrder.own.toFixed(1)} (PostgreSQL ${floor.cpuMsPerOrder.postgres.toFixed(1)} + client ${floor.cpuMsPerOrder.client.toFixed(1)})`,
        '1.00×',
        '–',
      ]),
    );
  }
  const names = [...new Set([...results.map((r) => r.topology), ...Object.keys(capacities)])];
  for (const name of names) {
    const r = results.find((x) => x.topology === name && x.rate === halfFloorRate);
    const c = capacities[name]?.capacity ?? null;
    const own = r ? ownCpuMsPerOrder(r) : null;
    const h = r?.result.histograms.endToEnd;
    lines.push(
      row([
        r?.label ?? name,
        c === null ? '–' : String(c),
        times(ratio(c, floor?.perSecond ?? null)),
        own === null ? '–' : own.toFixed(1),
        times(ratio(own, floor?.cpuMsPerOrder.own ?? null)),
        h && h.totalCount > 0 ? `${latencyCell(r, pct(h, 50))} / ${latencyCell(r, pct(h, 99))}${r.result.failed ? ' (FAILED)' : ''}` : '–',
      ]),
    );
  }
  return lines.join('\n');
}

/** Every trial of the capacity searches. */
export function capacityTable(capacities) {
  const lines = [row(['Topology', 'Trials (offered/s: p99 ms, verdict)', 'Capacity']), row(['---', '---', '---:'])];
  for (const [name, search] of Object.entries(capacities)) {
    const trials = search.trials.map((t) => `${t.rate}: ${t.p99Ms.toFixed(0)} ms ${t.pass ? 'pass' : `fail (${t.why})`}`).join('; ');
    lines.push(row([name, trials, String(search.capacity)]));
  }
  return lines.join('\n');
}

function errorsCell(r) {
  const f = r.result.failures;
  if (!r.result.failed) return '0';
  const parts = [...(r.disturbed ?? []).map((d) => `DISTURBED: ${d}`)];
  if (f.httpErrors) parts.push(`${f.httpErrors} HTTP errors`);
  if (f.notConfirmed)
    parts.push(
      `${f.notConfirmed} not confirmed (${Object.entries(f.statuses)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ')})`,
    );
  return `**FAILED**: ${parts.join(', ')}`;
}

/** The main table: one row per topology and rate. */
export function resultsTable(results) {
  const lines = [
    row([
      'Topology',
      'Offered/s',
      'Sent/s',
      'Confirmed/s',
      'p50',
      'p90',
      'p99',
      'p99.9',
      'max',
      'Orders measured',
      'Errors',
      'Load avg (1 min) start → end',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---', '---']),
  ];
  for (const r of results) {
    const t = r.result.throughput;
    lines.push(
      row([
        r.label,
        t.offered.toFixed(0),
        t.sent.toFixed(1),
        t.confirmed.toFixed(1),
        ...percentileCells(r),
        String(r.result.measured),
        errorsCell(r),
        `${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)}`,
      ]),
    );
  }
  return lines.join('\n');
}

export function premiumTable(results) {
  const lines = [];
  for (const o of results.filter((r) => r.topology !== 'monolith')) {
    const mono = results.find((r) => r.topology === 'monolith' && r.rate === o.rate);
    if (!mono) continue;
    const m = mono.result.histograms.endToEnd;
    const e = o.result.histograms.endToEnd;
    lines.push(
      row([
        `${rateLabel(o)} ÷ ${rateLabel(mono)}`,
        ...PERCENTILES.map((p) => ratioCell(o, mono, pct(e, p), pct(m, p))),
        ratioCell(o, mono, e.maxValue, m.maxValue),
        mono.result.throughput.confirmed > 0 ? `${(o.result.throughput.confirmed / mono.result.throughput.confirmed).toFixed(2)}×` : 'n/a',
      ]),
    );
  }
  if (lines.length === 0) return null;
  return [
    row(['Ratio', 'p50', 'p90', 'p99', 'p99.9', 'max', 'confirmed/s']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...lines,
  ].join('\n');
}

export function breakdownTable(results) {
  const lines = [
    row(['Run', 'Measurement', 'p50', 'p90', 'p99', 'p99.9', 'max', 'count']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const r of results) {
    const h = r.result.histograms;
    const entries = [
      ['intended send → CONFIRMED (headline, corrected for coordinated omission)', h.endToEnd],
      ['actual send → CONFIRMED (uncorrected; confirmed orders only)', h.fromActualSend],
      ['intended send → 202 Accepted received (every accepted order)', h.accepted],
      ['202 received → CONFIRMED (the saga after the HTTP answer)', h.saga],
      ['send lag: actual − intended send (load generator)', r.result.sendLag],
    ];
    if (h.handlerToCommit.totalCount > 0) entries.push(['CONFIRMED history `at` (handler clock) → its commit', h.handlerToCommit]);
    for (const [name, hist] of entries) lines.push(row([rateLabel(r), name, ...percentileCells(r, hist), String(hist.totalCount)]));
  }
  return lines.join('\n');
}

export function saturationTable(results) {
  const names = ['monolith', 'billing-service', 'postgres', 'redis'];
  const lines = [
    row([
      'Run',
      'In flight at window end',
      'p50 first 5 s',
      'p50 last 5 s',
      'Last confirmation after window end',
      'DB commits per confirmed order',
      'Deadlocks',
      'Machine CPU busy',
      ...names.map((n) => `${n} (cores)`),
      'bench (cores)',
      'other processes (cores)',
      'bench event-loop delay p99',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', ...names.map(() => '---:'), '---:', '---:', '---:']),
  ];
  for (const r of results) {
    const t = r.result.throughput;
    const c = r.cpu;
    const confirmedInWindow = t.confirmed * r.seconds;
    lines.push(
      row([
        rateLabel(r),
        String(t.inFlightAtWindowEnd),
        `${t.medianFirst5sMs.toFixed(1)} ms`,
        `${t.medianLast5sMs.toFixed(1)} ms`,
        t.drainMs === null ? '–' : `${(t.drainMs / 1000).toFixed(2)} s`,
        confirmedInWindow > 0 ? (r.db.commits / confirmedInWindow).toFixed(1) : '–',
        String(r.db.deadlocks),
        `${(100 * c.machineBusy).toFixed(0)} %`,
        ...names.map((n) => cores(c[n])),
        cores(c.bench),
        cores(c.others),
        `${r.loopDelay.p99.toFixed(1)} ms`,
      ]),
    );
  }
  return lines.join('\n');
}

export function targetsTable(verdicts) {
  return [
    row(['Target', 'Measured', 'Result']),
    row(['---', '---', '---']),
    ...verdicts.map((v) => row([v.name, v.measured, `**${v.verdict}**`])),
  ].join('\n');
}

/** The generated section of docs/benchmarks.md (between the markers). */
export function markdownSection({ run, machine, results, verdicts, svgName, skipped, floor, capacities, halfFloorRate }) {
  const premium = premiumTable(results);
  const source = results.every((r) => r.result.source === 'commit')
    ? 'the commit time of the transaction that wrote the CONFIRMED history entry (`pg_xact_commit_timestamp`, µs)'
    : "the CONFIRMED history entry's `at` (the handler's clock just before its transaction commits, ms resolution)";
  const anyCensored = results.some((r) => r.result.censored > 0);
  const lines = [
    START,
    `<!-- Generated by \`npm run bench\`: everything between these markers is rewritten on every run. -->`,
    '',
    `### Latest run: ${run.date}`,
    '',
    `- **Machine:** ${machine.cpus} × ${machine.model}, ${machine.ramGiB} GiB RAM, ${machine.os}, Node ${machine.node}.`,
    `- **PostgreSQL:** ${machine.postgres}.`,
    `- **Redis:** ${machine.redis}.`,
    `- **Command:** \`${run.command}\` (built from ${run.code}).`,
    `- **Workload:** per rate, orders offered open-loop for ${run.seconds} s after ${run.warmup} s of warm-up at the same rate; ${run.skus} SKUs (stock ${run.stock.toLocaleString('en-US')} each), ${run.customers} customers (deposits large enough that nothing is declined); one line of quantity 1 per order, SKU and customer round-robin; every order must be CONFIRMED within ${run.grace} s of the last send. Each topology and rate starts on fresh databases and fresh processes.`,
    `- **App settings:** ${run.appSettings}.`,
    `- **Confirmation time:** ${source}.`,
    ...(skipped.length ? [`- **Not run:** ${skipped.join('; ')}.`] : []),
    '',
    `Each topology against the floor measured in the same run (capacity: the highest offered rate at which every order is confirmed with p99 ≤ ${TARGETS.p99Ms} ms; CPU: the apps, PostgreSQL and Redis, per confirmed order):`,
    '',
    summaryTable({ results, floor, capacities, halfFloorRate }),
    '',
    `Targets (issue 9; each a ratio within this run):`,
    '',
    targetsTable(verdicts),
    '',
    ...(Object.keys(capacities).length
      ? [
          `Capacity searches (${run.capacitySeconds} s per trial after ${run.capacityWarmup} s of warm-up, fresh processes each):`,
          '',
          capacityTable(capacities),
          '',
        ]
      : []),
    `Order saga latency, intended send → CONFIRMED, milliseconds:`,
    '',
    resultsTable(results),
    '',
  ];
  if (anyCensored)
    lines.push(
      `"≥": a FAILED run's orders that were not CONFIRMED when the results were read are counted at that moment, so those percentiles are lower bounds (the real latency is longer, or infinite for cancelled orders).`,
      '',
    );
  if (premium)
    lines.push(`Extraction premium (ratios of the same percentile, same rate; n/a where a run did not keep up):`, '', premium, '');
  lines.push(
    `![Latency by percentile, intended send to CONFIRMED](${svgName})`,
    '',
    `Where the time goes, milliseconds:`,
    '',
    breakdownTable(results),
    '',
    `Saturation during the measured window (cores: average CPU cores used; the machine has ${machine.cpus}; "other processes" is everything on the machine that is not this benchmark):`,
    '',
    saturationTable(results),
    '',
    END,
  );
  return lines.join('\n');
}

/** Rewrites only the generated section; creates the document (with a short header) when missing. */
export function writeSection(file, section) {
  return writeGeneratedSection(file, section, {
    start: START,
    end: END,
    header: '# Benchmarks\n\n## Topologies: monolith vs extracted billing\n\n',
  });
}

export function consoleReport({ results, verdicts, skipped, floor, capacities, halfFloorRate }) {
  const out = ['', 'Against the floor:', '', summaryTable({ results, floor, capacities, halfFloorRate }), ''];
  if (Object.keys(capacities).length) out.push('Capacity searches:', '', capacityTable(capacities), '');
  out.push('Order saga latency, intended send → CONFIRMED (ms):', '', resultsTable(results), '');
  const premium = premiumTable(results);
  if (premium) out.push('Extraction premium:', '', premium, '');
  out.push('Breakdown (ms):', '', breakdownTable(results), '', 'Saturation:', '', saturationTable(results), '');
  for (const s of skipped) out.push(`NOT RUN: ${s}`);
  for (const v of verdicts) out.push(`${v.verdict.padEnd(4)}  ${v.name}: ${v.measured}`);
  for (const r of results) {
    if (!r.result.failed) continue;
    out.push(`FAILED  ${rateLabel(r)}: ${errorsCell(r).replace(/\*/g, '')}`);
    for (const e of r.firstErrors) out.push(`        e.g. order #${e.i}: ${e.message}`);
  }
  return out.join('\n');
}
