// Tables for the console and for docs/benchmarks.md, and the targets.
import { writeGeneratedSection } from '../../harness/markdown.mjs';

export const START = '<!-- bench:topologies:start -->';
export const END = '<!-- bench:topologies:end -->';
export const PERCENTILES = [50, 90, 99, 99.9];
export const TARGETS = { rate: 200, monolithP99Ms: 25, premiumP99: 2 };

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

/** PASS/MISS for each target, judged on the runs at the target rate. */
export function judge(results) {
  const at = results.filter((r) => r.rate === TARGETS.rate);
  const mono = at.find((r) => r.topology === 'monolith');
  const ext = at.find((r) => r.topology === 'extracted');
  const notRun = `not run at ${TARGETS.rate} orders/s`;
  const verdicts = [];
  if (!mono) verdicts.push({ name: `monolith p99 ≤ ${TARGETS.monolithP99Ms} ms`, measured: notRun, verdict: 'n/a' });
  else {
    const p99 = pct(mono.result.histograms.endToEnd, 99);
    verdicts.push({
      name: `monolith p99 ≤ ${TARGETS.monolithP99Ms} ms`,
      measured: `${latencyCell(mono, p99)} ms${mono.result.failed ? ` (FAILED: ${mono.result.censored} orders not confirmed)` : ''}`,
      verdict: !mono.result.failed && p99 / 1000 <= TARGETS.monolithP99Ms ? 'PASS' : 'MISS',
    });
  }
  const name = `extraction premium (extracted p99 ÷ monolith p99) ≤ ${TARGETS.premiumP99}`;
  if (!mono || !ext) verdicts.push({ name, measured: notRun, verdict: 'n/a' });
  else if (mono.result.failed || ext.result.failed) {
    const which = [mono, ext].filter((r) => r.result.failed).map((r) => r.label);
    verdicts.push({ name, measured: `cannot be computed: ${which.join(' and ')} did not keep up (FAILED)`, verdict: 'n/a' });
  } else {
    const premium = pct(ext.result.histograms.endToEnd, 99) / pct(mono.result.histograms.endToEnd, 99);
    verdicts.push({ name, measured: `${premium.toFixed(2)}×`, verdict: premium <= TARGETS.premiumP99 ? 'PASS' : 'MISS' });
  }
  return verdicts;
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
export function markdownSection({ run, machine, results, verdicts, svgName, skipped }) {
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
    `Targets (defined at ${TARGETS.rate} orders/s on this 2-core machine):`,
    '',
    targetsTable(verdicts),
    '',
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

export function consoleReport({ results, verdicts, skipped }) {
  const out = ['', 'Order saga latency, intended send → CONFIRMED (ms):', '', resultsTable(results), ''];
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
