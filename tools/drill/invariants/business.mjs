// The business invariants, read from the modules' own tables and from the public API: orders end terminal,
// payments follow orders (nothing captured twice), stock is conserved per SKU, the ledger balances and every
// account equals its postings, and every accepted Idempotency-Key has its stored response.

/** Statuses an order may end in. */
export const TERMINAL = ['CONFIRMED', 'CANCELLED'];
export const PARKED = ['NEEDS_ATTENTION', 'PARKED'];

/**
 * Parked for a person: a status that says so, or a saga that carries an `attention` object (the saga gives up on a
 * compensation after a bound and parks the order; GET /orders/:id shows it as `attention`). Terminal for the drill:
 * allowed, and named in the report, but not judged as finished (its stock or payment may wait for the operator).
 */
export const isParked = (o) => PARKED.includes(o.status) || (o.saga?.attention !== undefined && o.saga?.attention !== null);

/** SQL for the same, on orders.orders. */
export const PARKED_SQL = `(status IN (${PARKED.map((s) => `'${s}'`).join(', ')}) OR jsonb_typeof(saga->'attention') = 'object')`;

const sum = (lines, sku) => lines.filter((l) => l.sku === sku).reduce((n, l) => n + Number(l.quantity), 0);

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: res.ok ? await res.json() : await res.text() };
}

/** Runs `work` over `items`, 8 at a time. */
async function eachLimited(items, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

export async function readOrders(world) {
  const { rows } = await world.db.main.query(
    `SELECT o.id::text AS id, o.customer_id, o.status, o.reason, o.total_cents::bigint::text AS total_cents, o.lines, o.saga,
            (SELECT h.event || ': ' || h.detail FROM orders.order_history h WHERE h.order_id = o.id ORDER BY h.seq DESC LIMIT 1) AS last
       FROM orders.orders o`,
  );
  return rows;
}

/** Orders: terminal, known to the API as the database says, one per Idempotency-Key. */
export async function checkOrders(world, scope, orders, v) {
  const byId = new Map(orders.map((o) => [o.id, o]));
  for (const o of orders) {
    if (isParked(o)) continue;
    if (TERMINAL.includes(o.status) && o.saga?.step !== 'DONE')
      v(
        'saga-finished',
        `order ${o.id}`,
        `${o.status} but its saga is still ${o.saga?.step} (waiting for ${o.saga?.awaiting?.join(', ')})`,
      );
    if (TERMINAL.includes(o.status)) continue;
    v(
      'order-terminal',
      `order ${o.id}`,
      `still ${o.status} (saga step ${o.saga?.step}, attempt ${o.saga?.attempt}); last history entry: ${o.last}`,
    );
  }
  for (const placed of scope.accepted) {
    if (!byId.has(placed.id))
      v('accepted-order-exists', `order ${placed.id}`, `answered 202 for key ${placed.key}, but not in orders.orders`);
  }
  const url = world.ordersUrls()[0];
  await eachLimited(scope.accepted, async (placed) => {
    const row = byId.get(placed.id);
    if (!row || !url) return;
    const res = await getJson(`${url}/orders/${placed.id}`).catch((e) => ({ status: 0, body: e.message }));
    if (res.status !== 200)
      return v(
        'public-api-agrees',
        `order ${placed.id}`,
        `GET /orders/${placed.id} answered ${res.status}: ${String(res.body).slice(0, 200)}`,
      );
    if (res.body.status !== row.status)
      v('public-api-agrees', `order ${placed.id}`, `the API says ${res.body.status}, orders.orders says ${row.status}`);
    if (isParked(row) !== (PARKED.includes(res.body.status) || (res.body.attention !== undefined && res.body.attention !== null)))
      v('public-api-agrees', `order ${placed.id}`, `the API and orders.orders disagree on whether it is parked for attention`);
  });
  const { rows: keys } = await world.db.main.query(
    `SELECT key, scope, response_status, response_body->>'id' AS id FROM orders.idempotency_keys WHERE scope IN ('orders.place', 'orders.cancel')`,
  );
  const placedBy = new Map();
  for (const k of keys.filter((k) => k.scope === 'orders.place' && k.id)) placedBy.set(k.id, [...(placedBy.get(k.id) ?? []), k.key]);
  for (const o of orders) {
    const n = placedBy.get(o.id)?.length ?? 0;
    if (n !== 1)
      v(
        'one-order-per-key',
        `order ${o.id}`,
        n === 0 ? 'no Idempotency-Key stored a response naming it (placed without its key?)' : `named by ${n} keys`,
      );
  }
  const stored = new Map(keys.map((k) => [`${k.scope}|${k.key}`, k]));
  for (const [kind, list, scopeName] of [
    ['order', scope.accepted, 'orders.place'],
    ['cancel', scope.cancels, 'orders.cancel'],
  ]) {
    for (const r of list) {
      const k = stored.get(`${scopeName}|${r.key}`);
      if (!k || k.response_status === null)
        v(
          'idempotency-response-stored',
          `key ${r.key}`,
          `the ${kind} was accepted (202) but ${scopeName} has ${k ? 'no stored response' : 'no row'} for its key`,
        );
      else if (k.id !== (r.id ?? r.orderId))
        v('idempotency-response-stored', `key ${r.key}`, `stored response names ${k.id}, the client got ${r.id ?? r.orderId}`);
    }
  }
}

/** Payments follow orders: a confirmed order paid once, a cancelled one not (or refunded). */
export async function checkPayments(world, orders, v) {
  const { rows: captures } = await world.db.billing.query(
    `SELECT order_id::text AS id, count(*)::int AS n FROM billing.journal_entries WHERE kind = 'CAPTURE' GROUP BY order_id`,
  );
  for (const c of captures) if (c.n > 1) v('captured-once', `order ${c.id}`, `${c.n} CAPTURE journal entries`);
  const { rows: payments } = await world.db.billing.query(
    `SELECT order_id::text AS id, status, amount_cents::bigint::text AS amount FROM billing.payments`,
  );
  const payment = new Map(payments.map((p) => [p.id, p]));
  for (const o of orders.filter((o) => !isParked(o))) {
    const p = payment.get(o.id);
    if (o.status === 'CONFIRMED' && Number(o.total_cents) > 0 && (p?.status !== 'CAPTURED' || p.amount !== o.total_cents))
      v(
        'payment-follows-order',
        `order ${o.id}`,
        `CONFIRMED for ${o.total_cents} cents, payment is ${p ? `${p.status} ${p.amount}` : 'missing'}`,
      );
    if (o.status === 'CANCELLED' && p?.status === 'CAPTURED')
      v('payment-follows-order', `order ${o.id}`, `CANCELLED (${o.reason}) but its payment is still CAPTURED`);
  }
}

/** Stock: available + reserved + committed = initial per SKU; reservations follow their orders. */
export async function checkStock(world, orders, v) {
  const { rows: items } = await world.db.main.query(`SELECT sku, available, reserved FROM inventory.items`);
  const { rows: reservations } = await world.db.main.query(`SELECT order_id::text AS id, status, lines FROM inventory.reservations`);
  for (const item of items) {
    const committed = reservations.filter((r) => r.status === 'COMMITTED').reduce((n, r) => n + sum(r.lines, item.sku), 0);
    const held = reservations.filter((r) => r.status === 'RESERVED').reduce((n, r) => n + sum(r.lines, item.sku), 0);
    const total = item.available + item.reserved + committed;
    if (total !== world.shop.stock)
      v(
        'stock-conserved',
        `SKU ${item.sku}`,
        `available ${item.available} + reserved ${item.reserved} + sold ${committed} = ${total}, stocked ${world.shop.stock}`,
      );
    if (held !== item.reserved)
      v('stock-conserved', `SKU ${item.sku}`, `reserved ${item.reserved}, but RESERVED reservations hold ${held}`);
  }
  const order = new Map(orders.map((o) => [o.id, o]));
  for (const r of reservations) {
    const o = order.get(r.id);
    if (!o || !TERMINAL.includes(o.status) || isParked(o)) continue;
    if (r.status === 'RESERVED') v('no-reservation-left', `order ${r.id}`, `${o.status} but its stock is still RESERVED`);
    if (o.status === 'CONFIRMED' && r.status !== 'COMMITTED')
      v('stock-follows-order', `order ${r.id}`, `CONFIRMED but its reservation is ${r.status}`);
    if (o.status === 'CANCELLED' && r.status === 'COMMITTED')
      v('stock-follows-order', `order ${r.id}`, 'CANCELLED but its stock is COMMITTED (sold)');
  }
}

/** The ledger balances (public API and SQL); every account equals its postings and its confirmed orders. */
export async function checkLedger(world, orders, v) {
  const verification = await getJson(`${world.billingUrl}/billing/ledger/verification`, {
    authorization: `Bearer ${world.adminToken}`, // an admin endpoint
  }).catch((e) => ({ status: 0, body: e.message }));
  if (verification.status !== 200) v('ledger-balances', 'GET /billing/ledger/verification', `answered ${verification.status}`);
  else if (!verification.body.balanced)
    v('ledger-balances', 'ledger', `unbalanced entries: ${verification.body.unbalancedEntries.join(', ')}`);
  const { rows } = await world.db.billing.query(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM billing.postings GROUP BY entry_id HAVING sum(amount_cents) <> 0) u)::int AS unbalanced,
            (SELECT coalesce(sum(amount_cents), 0) FROM billing.postings)::bigint::text AS total`,
  );
  if (rows[0].unbalanced > 0 || rows[0].total !== '0')
    v('ledger-balances', 'billing.postings', `${rows[0].unbalanced} unbalanced entries, postings sum to ${rows[0].total}`);
  const { rows: balances } = await world.db.billing.query(
    `SELECT a.customer_id, (-coalesce(sum(p.amount_cents), 0))::bigint::text AS balance
       FROM billing.accounts a LEFT JOIN billing.postings p ON p.account_id = a.id WHERE a.customer_id IS NOT NULL GROUP BY a.customer_id`,
  );
  await eachLimited(balances, async ({ customer_id: customer, balance }) => {
    const spent = orders
      .filter((o) => o.customer_id === customer && o.status === 'CONFIRMED')
      .reduce((n, o) => n + Number(o.total_cents), 0);
    if (Number(balance) !== world.shop.depositCents - spent)
      v(
        'account-equals-orders',
        `customer ${customer}`,
        `balance ${balance}, deposit ${world.shop.depositCents} − confirmed orders ${spent}`,
      );
    const api = await getJson(`${world.billingUrl}/billing/accounts/${customer}`).catch((e) => ({ status: 0, body: e.message }));
    if (api.status !== 200 || String(api.body.balanceCents) !== balance)
      v(
        'account-equals-postings',
        `customer ${customer}`,
        `API says ${api.status === 200 ? api.body.balanceCents : `HTTP ${api.status}`}, postings say ${balance}`,
      );
  });
}
