// The one invariant checker: waits (bounded) for everything to settle, then judges the world from the databases
// and the public API. A violation names its invariant and the order, key, SKU or message involved.
import { sleep } from '../../harness/infra.mjs';
import { PARKED_SQL, TERMINAL, checkLedger, checkOrders, checkPayments, checkStock, isParked, readOrders } from './business.mjs';
import { deadLetters, orderingDefects, queuedJobs, undelivered } from './messaging.mjs';

/** A scheduled row this far past its due time means its relay is not moving it (a few poll intervals). */
const OVERDUE_S = 10;

/** Waits until no order is PENDING (or unfinished and not parked for attention), nothing due waits in an outbox and the queues are empty. */
export async function settle(world, { timeoutMs, excluded }) {
  const started = Date.now();
  let left = 'nothing checked yet';
  while (Date.now() - started < timeoutMs) {
    try {
      const { rows } = await world.db.main.query(
        `SELECT count(*)::int AS n FROM orders.orders WHERE (status = 'PENDING' OR saga->>'step' <> 'DONE') AND NOT ${PARKED_SQL}`,
      );
      const due = (await undelivered(world, excluded)).filter((r) => r.status === 'pending' || r.due_in_s < 0);
      const jobs = await queuedJobs(world);
      if (rows[0].n === 0 && due.length === 0 && jobs.length === 0) return { settled: true, ms: Date.now() - started };
      left = `${rows[0].n} orders unfinished, ${due.length} messages due in outboxes, ${jobs.reduce((n, j) => n + j.n, 0)} jobs queued`;
    } catch (error) {
      left = `could not read the state: ${error.message}`;
    }
    await sleep(500);
  }
  return { settled: false, ms: Date.now() - started, left };
}

/**
 * scope: { accepted: [{ id, key }], cancels: [{ orderId, key }], poison: Set of message ids, exitsExpected }.
 * Returns { violations, facts }. Violations already reported for this world are not repeated.
 */
export async function check(world, scope) {
  const violations = [];
  const v = (invariant, subject, detail) => {
    const id = `${invariant}|${subject}`;
    if (world.reported?.has(id)) return;
    (world.reported ??= new Set()).add(id);
    violations.push({ invariant, subject, detail });
  };
  const orders = await readOrders(world);
  await checkOrders(world, scope, orders, v);
  await checkPayments(world, orders, v);
  await checkStock(world, orders, v);
  await checkLedger(world, orders, v);

  const waiting = await undelivered(world, scope.poison);
  for (const r of waiting.filter((r) => r.status === 'pending' || r.due_in_s < -OVERDUE_S)) {
    const what =
      r.status === 'pending'
        ? `pending after ${r.attempts} attempts${r.last_error ? ` (${r.last_error.slice(0, 160)})` : ''}`
        : `scheduled, overdue by ${(-r.due_in_s).toFixed(0)} s`;
    v('outbox-drained', `${r.module}.outbox ${r.type} ${r.id} (key ${r.key})`, what);
  }
  for (const j of await queuedJobs(world)) v('queue-drained', `BullMQ queue ${j.queue}`, `${j.n} jobs ${j.state}`);
  for (const d of await deadLetters(world)) {
    if (!scope.poison.has(d.id))
      v(
        'no-dead-letter',
        `${d.module}: ${d.type} ${d.id} (key ${d.key})`,
        `dead after ${d.attempts} attempts: ${String(d.last_error).slice(0, 200)}`,
      );
  }
  for (const d of await orderingDefects(world)) {
    v(
      'per-key-order',
      `key ${d.key}`,
      `${d.consumer} applied ${d.then.type} (seq ${d.then.seq} of ${d.then.producer}) after ${d.first.type} (seq ${d.first.seq}), which was committed later`,
    );
  }
  for (const drain of world.drains.splice(0)) {
    if (!drain.clean)
      v(
        'drains-on-sigterm',
        `${drain.app} (${drain.context})`,
        `exit ${drain.code ?? drain.signal} after ${drain.ms} ms${drain.code === 0 ? ", without 'Stopped cleanly' in its log" : ''}`,
      );
  }
  for (const exit of world.exits.splice(0)) {
    if (!scope.exitsExpected)
      v(
        'stays-up',
        `${exit.app} (${exit.context})`,
        `exited on its own (${exit.signal ?? `code ${exit.code}`}) at ${exit.at}; restarted by the drill`,
      );
  }

  const mine = new Set(scope.accepted.map((o) => o.id));
  const ours = orders.filter((o) => mine.has(o.id));
  const cancelled = {};
  for (const o of ours.filter((o) => o.status === 'CANCELLED')) cancelled[o.reason] = (cancelled[o.reason] ?? 0) + 1;
  const timers = waiting.filter((r) => r.status === 'scheduled' && r.due_in_s >= -OVERDUE_S);
  return {
    violations,
    orders: ours,
    facts: {
      orders: ours.length,
      confirmed: ours.filter((o) => o.status === 'CONFIRMED').length,
      cancelled,
      parked: ours.filter(isParked).map((o) => ({ id: o.id, status: o.status, attention: o.saga?.attention ?? null })),
      unfinished: ours.filter((o) => !TERMINAL.includes(o.status) && !isParked(o)).length,
      timersLeft: timers.length,
      timersDueInS: timers.length ? Math.max(...timers.map((t) => t.due_in_s)) : 0,
    },
  };
}
