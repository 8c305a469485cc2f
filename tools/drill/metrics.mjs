// What a scenario measures besides the invariants: how long the saga took (intended send → CONFIRMED, HDR
// histograms) in calm and under the fault, and the time to recover: from the end of a fault to the first
// order confirmed after it.
import * as hdr from 'hdr-histogram-js';

/** The history entry the saga writes when an order becomes CONFIRMED (libs/orders/src/domain/saga.ts). */
export const CONFIRMED_EVENT = 'Order confirmed';

const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });

/** When each order was confirmed (epoch ms), from the orders module's history. */
export async function confirmationTimes(world, ids) {
  if (ids.length === 0) return new Map();
  const { rows } = await world.db.main.query(
    `SELECT order_id::text AS id, (extract(epoch FROM at) * 1000)::float8 AS at FROM orders.order_history WHERE event = $2 AND order_id = ANY($1::uuid[])`,
    [ids, CONFIRMED_EVENT],
  );
  return new Map(rows.map((r) => [r.id, r.at]));
}

/** The first confirmation at or after `sinceMs` (epoch ms), or null. */
export async function firstConfirmationAfter(world, sinceMs) {
  const { rows } = await world.db.main.query(
    `SELECT (extract(epoch FROM min(at)) * 1000)::float8 AS at FROM orders.order_history WHERE event = $1 AND at >= to_timestamp($2 / 1000.0)`,
    [CONFIRMED_EVENT, sinceMs],
  );
  return rows[0].at;
}

/** Saga latency (ms) of the accepted orders intended inside any of `windows` ([{ start, end }]). */
export function latency(orders, confirmed, windows) {
  const h = histogram();
  let n = 0;
  for (const o of orders) {
    if (!o.id || !windows.some((w) => o.intended >= w.start && o.intended <= w.end)) continue;
    const at = confirmed.get(o.id);
    if (at === undefined) continue;
    h.recordValue(Math.max(1, Math.round(at - o.intended)));
    n++;
  }
  return n === 0 ? null : { n, p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue };
}

export const median = (xs) => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]);
