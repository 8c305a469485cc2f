// `partition-cancels-nothing`: a partition shorter than the saga's deadline must cancel no order TIMED_OUT. The
// deadline is the build's: its AppConfigSchema must have SAGA_*_DEADLINE_MS settings (a saga whose patience counts
// from delivery); a build without them (a step timeout × attempts, seconds long) skips the check with a note, so the
// quick drill stays green until such a saga lands.
import { createRequire } from 'node:module';
import path from 'node:path';

const DEADLINE_SETTING = /^SAGA_[A-Z_]*DEADLINE_MS$/;
/**
 * When the build has deadline settings but none is set, its defaults apply; they are minutes ("defaults to minutes"
 * in the saga's design), and the drill assumes at least this much. --saga-deadline-ms states the real value.
 */
export const ASSUMED_DEFAULT_DEADLINE_MS = 60_000;

/**
 * The saga deadline the drill judges partitions against: { ms, source }, or { ms: null, why } when the build has
 * no such setting. `dist`: the copy of dist/ the apps run; `appEnv`: the settings every app gets; `flag`: --saga-deadline-ms.
 */
export function sagaDeadline({ dist, appEnv, flag }) {
  if (flag !== undefined) return { ms: flag, source: `--saga-deadline-ms ${flag}` };
  let schema;
  try {
    const require = createRequire(import.meta.url);
    schema = require(path.join(dist, 'libs/platform/src/config/app-config.js')).AppConfigSchema;
  } catch (error) {
    return { ms: null, why: `could not read the build's settings (${error.message})` };
  }
  const names = Object.keys(schema?.shape ?? {}).filter((k) => DEADLINE_SETTING.test(k));
  if (names.length === 0)
    return { ms: null, why: 'this build has no saga deadline setting (SAGA_*_DEADLINE_MS); pass --saga-deadline-ms to judge anyway' };
  const parsed = schema.safeParse(appEnv);
  const set = names.map((n) => [n, parsed.success ? parsed.data[n] : Number(appEnv[n])]).filter(([, v]) => Number.isFinite(v));
  if (set.length === 0)
    return {
      ms: ASSUMED_DEFAULT_DEADLINE_MS,
      source: `${names.join(', ')} at their defaults (assumed ≥ ${ASSUMED_DEFAULT_DEADLINE_MS / 1000} s)`,
    };
  const [name, ms] = set.sort((a, b) => a[1] - b[1])[0];
  return { ms, source: `${name}=${ms}` };
}

/**
 * Judges one partition scenario: `orders` are the scenario's own (accepted during it, settled), `partitionMs` how long
 * the link was degraded and cut. Returns { note, violations }.
 */
export function partitionCancelsNothing(orders, deadline, partitionMs) {
  if (deadline.ms === null) return { note: `partition-cancels-nothing: skipped, ${deadline.why}`, violations: [] };
  if (partitionMs >= deadline.ms)
    return {
      note: `partition-cancels-nothing: not judged, the partition (${(partitionMs / 1000).toFixed(0)} s) is not shorter than the deadline (${deadline.source})`,
      violations: [],
    };
  const timedOut = orders.filter((o) => o.status === 'CANCELLED' && o.reason === 'TIMED_OUT');
  return {
    note: `partition-cancels-nothing: ${timedOut.length} orders cancelled TIMED_OUT after a ${(partitionMs / 1000).toFixed(0)} s partition (deadline ${deadline.source})`,
    violations: timedOut.map((o) => ({
      invariant: 'partition-cancels-nothing',
      subject: `order ${o.id}`,
      detail: `cancelled TIMED_OUT though the partition (${(partitionMs / 1000).toFixed(0)} s) was shorter than the saga's deadline (${deadline.source}); last history entry: ${o.last}`,
    })),
  };
}
