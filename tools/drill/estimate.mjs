// How long a drill will take, printed before it starts: the per-scenario times of a `--quick` run on this
// project's 2-core CI machine, scaled to the selection, the rounds and the full drill's longer faults. The
// drill prints the times of the run it just made (runS, overheadS) so they can be copied here when they drift.
import { DURATIONS } from './scenarios.mjs';

/**
 * Seconds, measured by `npm run drill -- --quick` on 2 cores busy with other work (load average about 10; an idle
 * machine is faster), the two topologies' figures merged: runS is one round or one fault of the
 * scenario's own steps (kill, hold, restart, recovery), overheadS what follows it (the last answers, settling,
 * the checks). startS: a topology's start (its servers, the migration, the apps, the shop) and its final SIGTERMs.
 */
export const QUICK_TIMES_S = {
  startS: { monolith: 25, extracted: 30 },
  calm: { runS: 6, overheadS: 3 },
  'kill-monolith': { runS: 10, overheadS: 6 },
  'kill-billing': { runS: 11, overheadS: 6 },
  'kill-redis': { runS: 4, overheadS: 3 },
  'kill-postgres': { runS: 9, overheadS: 4 },
  'restart-rolling': { runS: 48, overheadS: 6 },
  'restart-redis': { runS: 5, overheadS: 8 },
  'restart-postgres': { runS: 10, overheadS: 4 },
  latency: { runS: 7, overheadS: 8 },
  loss: { runS: 10, overheadS: 4 },
  bandwidth: { runS: 9, overheadS: 3 },
  partition: { runS: 27, overheadS: 14 },
  poison: { runS: 40, overheadS: 10 },
};

const avg = ([a, b]) => (a + b) / 2;

/** What the full drill's faults add to one scenario over the quick one's (seconds). */
function longerFaultS(name) {
  const q = DURATIONS.quick;
  const f = DURATIONS.full;
  if (/^net-.*-partition$/.test(name)) return f.prePartitionS + f.partitionS - (q.prePartitionS + q.partitionS);
  if (/^net-/.test(name)) return f.shapeS - q.shapeS;
  if (name === 'restart-postgres') return avg(f.pgDownS) - avg(q.pgDownS);
  if (name === 'restart-redis') return avg(f.redisDownS) - avg(q.redisDownS);
  return 0;
}

const timesOf = (name) => QUICK_TIMES_S[name] ?? QUICK_TIMES_S[name.replace(/^net-[a-z]+-/, '')] ?? { runS: 10, overheadS: 5 };

/** The estimate for this selection, in seconds, with its per-topology parts. */
export function estimateDrill(opts, scenarios) {
  const parts = [];
  for (const topology of opts.topologies) {
    let s = QUICK_TIMES_S.startS[topology] + opts.calmS + QUICK_TIMES_S.calm.overheadS;
    for (const sc of scenarios) {
      if (!sc.topologies.includes(topology) || (opts.quick && sc.quick && !sc.quick.includes(topology))) continue;
      const t = timesOf(sc.name);
      const rounds = sc.group === 'kill' ? opts.rounds : 1;
      s += t.overheadS + t.runS * rounds + (opts.quick ? 0 : longerFaultS(sc.name));
    }
    parts.push({ topology, s });
  }
  return { s: parts.reduce((n, p) => n + p.s, 0), parts };
}

export function describeEstimate(estimate) {
  const min = (s) => `${(s / 60).toFixed(s < 600 ? 1 : 0)} min`;
  return `estimated duration: about ${min(estimate.s)} (${estimate.parts.map((p) => `${p.topology} ${min(p.s)}`).join(', ')}), from the per-scenario times of a --quick run on 2 cores (tools/drill/estimate.mjs); a busy machine takes longer`;
}

/** The times of the run just made, in the form of QUICK_TIMES_S (to refresh it when it drifts). */
export function measuredTimes(rows) {
  return rows
    .filter((r) => r.runS !== undefined)
    .map(
      (r) => `${r.topology}/${r.scenario}: runS ${Math.round(r.runS / Math.max(1, r.rounds))} per round, overheadS ${r.durationS - r.runS}`,
    )
    .join('; ');
}
