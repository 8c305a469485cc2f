// Poison, injected as an operator with SQL could: rows written straight into the orders module's outbox, which
// its relay then delivers like any other message. Each must end as a dead letter while the other orders flow.
//   malformed-envelope  an envelope without its required fields          → dead at once (non-retryable)
//   invalid-payload     a valid type whose payload breaks its contract   → dead at once
//   invalid-payload-remote (extracted) the same for a billing command, so billing's side records the dead letter
//   always-throws       inventory.commit-stock.v1 for an order that has no reservation: the handler throws
//                       every time → dead after the relay's attempts (10, with backoff: about a minute)
//   kills-process       a message whose handler kills the process (SIGKILL) mid-delivery. Needs a hook in the
//                       build (see FAULT_INJECTION_PROBE); reported as not supported by this build otherwise.
import { randomBytes, randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * The hook the drill looks for: GET /admin/fault-injection (admin token) answering 200 with
 * { crash: { type, module } } when the host was started with FAULT_INJECTION=crash (never in normal operation):
 * a message of `type` written to `module`'s outbox kills the process that handles it (SIGKILL, before commit).
 */
export const FAULT_INJECTION_PROBE = '/admin/fault-injection';

function envelope(type, key, payload, source = 'orders') {
  const id = uuidv7();
  return {
    id,
    type,
    source,
    key,
    occurredAt: new Date().toISOString(),
    correlationId: id,
    causationId: null,
    traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
    payload,
  };
}

async function insert(world, item, module = 'orders') {
  await world.db.main.query(`INSERT INTO "${module}".outbox (message_id, type, key, envelope) VALUES ($1, $2, $3, $4::jsonb)`, [
    item.id,
    item.type,
    item.key,
    JSON.stringify(item.envelope),
  ]);
  await world.db.main.query(`SELECT pg_notify($1, '')`, [`outbox_${module}`]); // wake its relay, as a commit would
  item.injectedAt = Date.now();
}

/** The poison that runs in the background of a topology's other scenarios (its retries take about a minute). */
export async function injectBackgroundPoison(world) {
  const items = [];
  const add = (kind, env) => items.push({ kind, id: env.id, type: env.type, key: env.key, envelope: env });
  const malformed = envelope('inventory.reserve-stock.v1', randomUUID(), {
    orderId: randomUUID(),
    lines: [{ sku: 'DRILL-SKU-0', quantity: 1 }],
  });
  for (const field of ['source', 'occurredAt', 'correlationId', 'traceparent']) delete malformed[field];
  add('malformed-envelope', malformed);
  add('invalid-payload', envelope('inventory.reserve-stock.v1', randomUUID(), { orderId: 'not-an-order-id', lines: [] }));
  if (world.remote)
    add('invalid-payload-remote', envelope('billing.capture-payment.v1', randomUUID(), { orderId: randomUUID(), amountCents: -5 }));
  const orphan = randomUUID();
  add('always-throws', envelope('inventory.commit-stock.v1', orphan, { orderId: orphan }));
  for (const item of items) await insert(world, item);
  return items;
}

/** Whether this build has the crash hook; its type and outbox when it does. */
export async function crashHook(world, adminToken) {
  try {
    const res = await fetch(`${world.monoliths[0].url}${FAULT_INJECTION_PROBE}`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status !== 200) return null;
    const body = await res.json();
    return body?.crash?.type && body?.crash?.module ? body.crash : null;
  } catch {
    return null;
  }
}

export async function injectCrash(world, hook) {
  const key = randomUUID();
  const env = envelope(hook.type, key, { reason: 'drill: a handler that kills its process' }, hook.module);
  const item = { kind: 'kills-process', id: env.id, type: env.type, key, envelope: env };
  await insert(world, item, hook.module);
  return item;
}

/** Where each poison message is dead-lettered now (any module's outbox, in any of the world's databases). */
export async function deadPoison(world, items) {
  const ids = items.map((i) => i.id);
  const found = new Map();
  for (const db of world.databases) {
    const { rows } = await db.query(
      `SELECT n.nspname AS module FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'outbox' AND c.relkind = 'r'`,
    );
    for (const { module } of rows) {
      const { rows: dead } = await db.query(
        `SELECT message_id::text AS id, attempts, last_error, dead_at FROM "${module}".outbox WHERE status = 'dead' AND message_id = ANY($1::uuid[])`,
        [ids],
      );
      for (const d of dead) found.set(d.id, { module, ...d });
    }
  }
  return found;
}
