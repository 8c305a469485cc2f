// The tables of `npm run bench:outbox`: the relay beside its queue peers, medians of interleaved rounds, ratios taken
// within a round (the machine's speed drifts between rounds, not within one), then the targets.
export const START = '<!-- bench:outbox:start -->';
export const END = '<!-- bench:outbox:end -->';
export const RELAY = 'outbox relay';
/** The issue's targets. */
export const TARGETS = { p99Ms: 5, atRate: 1_000 };
/** Open loop, "kept up": the last handler started within this long of the last scheduled send, and the producer's commit p99 stayed under it. */
export const KEPT_UP_S = 1;

/** What each row guarantees about one key's messages, in a few words (each result's orderGuarantee has the long form). */
const GUARANTEES = {
  'outbox relay|per-key': 'per key, across handlers',
  'pg-boss|none': 'none',
  'pg-boss|per-key': 'one active job per key, not in order (singleton)',
  'graphile-worker|none': 'none',
  'graphile-worker|per-key': 'per key, in order (job queue per key)',
};

export function median(values) {
  const s = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const whole = (v) => (v === null ? '–' : Math.round(v).toLocaleString('en-US'));
const fixed = (v, d = 2) => (v === null ? '–' : v.toFixed(d));
const ms = (h, p) => (h ? h.getValueAtPercentile(p) / 1000 : null);
const ok = (runs) => runs.filter((r) => r && !r.failed);
const label = (row) => `${row.tool}${row.order === 'none' || row.tool === RELAY ? '' : ` (${row.order})`}`;
const perRound = (values, format) => (values.length > 1 ? ` (${values.map(format).join(' · ')})` : '');

/** Seconds from the last scheduled send to the last handler start. */
export const endLagS = (r) => r.seconds - (r.messages - 1) / r.offeredPerSecond;
const keptUp = (r) => endLagS(r) <= KEPT_UP_S && ms(r.commitUs, 99) <= KEPT_UP_S * 1000;

/** Ours ÷ this per round (both must have succeeded in that round), and their median. */
function ratios(rowRuns, relayRuns, figure) {
  const each = [];
  rowRuns.forEach((r, i) => {
    const ours = relayRuns[i];
    if (r && !r.failed && ours && !ours.failed && figure(r) > 0) each.push(figure(ours) / figure(r));
  });
  return { each, median: median(each) };
}

function cpuCell(runs) {
  const good = ok(runs);
  const node = median(good.map((r) => r.cpu.node));
  const pg = median(good.map((r) => r.cpu.postgres));
  return pg === null ? fixed(node, 3) : `${fixed(node, 3)} + ${fixed(pg, 3)} = ${fixed(node + pg, 3)}`;
}

function failedCell(runs) {
  const failed = runs.filter((r) => r?.failed).length;
  return failed ? ` **${failed} of ${runs.length} failed**` : '';
}

export function backlogTable(rows) {
  const relay = rows.find((r) => r.tool === RELAY);
  const lines = [
    '| Tool | Version | Order of one key’s messages | Messages/s (rounds) | CPU-s per 1k: Node + PostgreSQL | Out of key order | Ours ÷ this, msg/s (rounds; > 1: ours faster) |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const good = ok(row.runs);
    const rate = good.map((r) => r.perSecond);
    const ratio = row === relay || !relay ? null : ratios(row.runs, relay.runs, (r) => r.perSecond);
    lines.push(
      `| ${label(row)} | ${row.version ?? '–'} | ${GUARANTEES[`${row.tool}|${row.order}`] ?? row.order} | ${whole(median(rate))}${perRound(rate, whole)}${failedCell(row.runs)} | ` +
        `${cpuCell(row.runs)} | ${good.map((r) => r.outOfOrder).join(' · ') || '–'} | ${ratio ? `${fixed(ratio.median)}${perRound(ratio.each, fixed)}` : '–'} |`,
    );
  }
  return lines.join('\n');
}

export function openLoopTable(rows) {
  const relay = rows.find((r) => r.tool === RELAY);
  const lines = [
    '| Tool | Version | Order of one key’s messages | Kept up (end lag, s) | Messages/s | p50 ms | p99 ms (rounds) | p99.9 ms | Producer commit p99 ms | CPU-s per 1k: Node + PostgreSQL | Ours ÷ this, p99 (rounds; < 1: ours lower) |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const good = ok(row.runs);
    const p = (q) => median(good.map((r) => ms(r.latencyUs, q)));
    const p99s = good.map((r) => ms(r.latencyUs, 99));
    const lag = median(good.map(endLagS));
    const kept = good.length === 0 ? '–' : `${good.every(keptUp) ? 'yes' : '**no**'} (${fixed(lag)})`;
    const ratio = row === relay || !relay ? null : ratios(row.runs, relay.runs, (r) => ms(r.latencyUs, 99));
    lines.push(
      `| ${label(row)} | ${row.version ?? '–'} | ${GUARANTEES[`${row.tool}|${row.order}`] ?? row.order} | ${kept}${failedCell(row.runs)} | ${whole(median(good.map((r) => r.perSecond)))} | ` +
        `${fixed(p(50))} | ${fixed(p(99))}${perRound(p99s, fixed)} | ${fixed(p(99.9))} | ${fixed(median(good.map((r) => ms(r.commitUs, 99))))} | ` +
        `${cpuCell(row.runs)} | ${ratio ? `${fixed(ratio.median)}${perRound(ratio.each, fixed)}` : '–'} |`,
    );
  }
  return lines.join('\n');
}

/** PASS/MISS lines: the relay's backlog msg/s ≥ each peer's (median of the per-round ratios ≥ 1); its p99 ≤ 5 ms at 1,000 msg/s. */
export function verdicts(experiments) {
  const out = [];
  const backlog = experiments.find((e) => e.mode === 'backlog');
  const relayOf = (e) => e.rows.find((r) => r.tool === RELAY);
  if (!relayOf(experiments[0])) return out; // --tools without the relay: nothing to judge
  if (backlog) {
    for (const row of backlog.rows.filter((r) => r.tool !== RELAY)) {
      const ratio = ratios(row.runs, relayOf(backlog).runs, (r) => r.perSecond);
      const name = `relay backlog msg/s ≥ ${label(row)}'s`;
      if (ratio.median === null)
        out.push({ verdict: ok(relayOf(backlog).runs).length ? 'N/A' : 'MISS', name, measured: 'no round where both completed' });
      else
        out.push({
          verdict: ratio.median >= 1 ? 'PASS' : 'MISS',
          name,
          measured: `ours ÷ ${row.tool} = ${fixed(ratio.median)} (median of ${ratio.each.length} round(s): ${ratio.each.map((v) => fixed(v)).join(', ')})`,
        });
    }
  }
  const name = `relay commit → handler p99 ≤ ${TARGETS.p99Ms} ms at ${whole(TARGETS.atRate)} msg/s in-process`;
  const atTarget = experiments.find((e) => e.mode === 'open-loop' && e.rate === TARGETS.atRate);
  if (!atTarget)
    out.push({
      verdict: 'N/A',
      name,
      measured: `not measured: open loop ran at ${experiments
        .filter((e) => e.rate)
        .map((e) => e.rate)
        .join(', ')} msg/s`,
    });
  else {
    const p99s = ok(relayOf(atTarget).runs).map((r) => ms(r.latencyUs, 99));
    const p99 = median(p99s);
    out.push({
      verdict: p99 !== null && p99 <= TARGETS.p99Ms ? 'PASS' : 'MISS',
      name,
      measured:
        p99 === null
          ? 'the relay failed every round'
          : `${fixed(p99)} ms (median of ${p99s.length} round(s): ${p99s.map((v) => fixed(v)).join(', ')})`,
    });
  }
  return out;
}

export function failures(experiments) {
  const out = [];
  for (const e of experiments)
    for (const row of e.rows)
      row.runs.forEach((r, i) => {
        if (r?.failed) out.push(`FAILED round ${i + 1}, ${e.title}, ${label(row)}: ${r.failed}`);
      });
  return out;
}

export function markdownSection({ run, experiments, settings }) {
  const out = [
    START,
    '',
    `Measured ${run.date} with \`npm run bench:outbox -- ${run.args}\`: ${run.machine}, Node ${run.node}, PostgreSQL ${run.postgres}; code ${run.code}; load average ${run.load}.`,
    '',
    `- **Backlog:** ${whole(run.messages)} messages over ${whole(run.keys)} keys committed up front; messages/s = that number ÷ the time from starting the relay (or the workers) until every message was handled and nothing unfinished is left in the tool’s tables.`,
    `- **Open loop:** messages sent on schedule at the offered rate for ${run.seconds} s, each in its own transaction, whether or not earlier ones finished; latency = handler start − the producer’s COMMIT returned (HdrHistogram, µs). Kept up: the last handler started ≤ ${KEPT_UP_S} s after the last scheduled send and the producer’s commit p99 stayed ≤ ${KEPT_UP_S} s.`,
    `- **CPU-s per 1k messages** in the timed window: this Node process (producer, tool, no-op handler) + PostgreSQL (${run.postgresCpu}).`,
    `- **Method:** one PostgreSQL for all; ${run.rounds} round(s), each running every row once per experiment (the order reversed every other round${run.warmup ? ', after an unrecorded warm-up backlog of each' : ''}); figures are medians of the rounds (each round in brackets), ratios are taken within a round, then their median. Handlers are no-ops; each tool runs with its recommended settings:`,
    ...settings.map((s) => `  - ${s}`),
    '',
  ];
  for (const e of experiments) out.push(`**${e.title}**`, '', e.mode === 'backlog' ? backlogTable(e.rows) : openLoopTable(e.rows), '');
  const v = verdicts(experiments);
  out.push('Targets:', '', ...v.map((x) => `- **${x.verdict}** ${x.name}: ${x.measured}`), '');
  const f = failures(experiments);
  if (f.length) out.push(...f.map((x) => `- ${x}`), '');
  out.push(END);
  return out.join('\n');
}
