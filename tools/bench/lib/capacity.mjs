// The capacity search: the highest offered rate at which a topology confirms every order with p99 ≤ the target,
// found by stepping up (×1.5) until a trial fails, then bisecting (geometric mean) until the bracket is within 10 %.

/** What a trial must show to pass: every order confirmed in time, nearly all of the offered rate, p99 within `p99Ms`. */
export function trialVerdict(run, p99Ms) {
  const t = run.result.throughput;
  const p99 = run.result.histograms.endToEnd.getValueAtPercentile(99) / 1000;
  if (run.failed) return { pass: false, p99Ms: p99, why: 'not every order was confirmed' };
  if (t.confirmed < 0.97 * t.offered) return { pass: false, p99Ms: p99, why: `confirmed ${t.confirmed.toFixed(1)}/s of ${t.offered}/s` };
  if (p99 > p99Ms) return { pass: false, p99Ms: p99, why: `p99 ${p99.toFixed(0)} ms > ${p99Ms} ms` };
  return { pass: true, p99Ms: p99, why: 'ok' };
}

/**
 * `trial(rate)` runs one trial and resolves to `{ pass, ... }`. Starts at `start`; returns the highest passing rate
 * (0 if none passed), the bracket and every trial, in order.
 */
export async function searchCapacity({ trial, start, maxTrials = 8, resolution = 1.1 }) {
  const trials = [];
  let lo = null;
  let hi = null;
  let rate = Math.max(1, Math.round(start));
  while (trials.length < maxTrials) {
    const t = { rate, ...(await trial(rate)) };
    trials.push(t);
    if (t.pass) lo = Math.max(lo ?? 0, rate);
    else hi = Math.min(hi ?? Infinity, rate);
    if (lo !== null && hi !== null && hi / lo <= resolution) break;
    const next = Math.max(1, Math.round(hi === null ? rate * 1.5 : lo === null ? rate * 0.6 : Math.sqrt(lo * hi)));
    if (next === rate || trials.some((x) => x.rate === next)) break;
    rate = next;
  }
  return { capacity: lo ?? 0, bracket: [lo, hi], trials };
}
