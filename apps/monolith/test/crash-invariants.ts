import type { Client } from 'pg';

export interface SettledOrder {
  id: string;
  customer_id: string;
  status: string;
  total_cents: string | null;
  lines: { sku: string; quantity: number }[];
  /** Set when the order is parked for an operator's attention (its compensation stopped re-sending). */
  attention: { reason: string; since: string; step: string } | null;
}

/**
 * What must hold once every order has settled, whatever crashed on the way: every order terminal (or parked for
 * attention, named by its `attention`; none holds stock or money unnoticed: the stock and balance checks fail), stock and
 * balances equal to the confirmed orders, the ledger balanced, no order captured twice, no dead letters.
 * `orders` reaches the orders and inventory schemas, `billing` the billing schema (the same database in the
 * monolith, billing's own once extracted). Returns the orders.
 */
export async function expectSettledInvariants(
  db: { orders: Client; billing: Client },
  world: { skus: Record<string, { stock: number }>; customers: Record<string, number> },
): Promise<SettledOrder[]> {
  const orders = (
    await db.orders.query(
      `SELECT id, customer_id, status, total_cents, lines, CASE WHEN jsonb_typeof(saga->'attention') = 'object' THEN saga->'attention' END AS attention FROM orders.orders`,
    )
  ).rows as SettledOrder[];
  const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
  expect(orders.filter((o) => o.status !== 'CONFIRMED' && o.status !== 'CANCELLED' && !o.attention)).toEqual([]);

  for (const [sku, { stock }] of Object.entries(world.skus)) {
    const sold = confirmed
      .flatMap((o) => o.lines)
      .filter((l) => l.sku === sku)
      .reduce((n, l) => n + l.quantity, 0);
    const { rows } = await db.orders.query(`SELECT available, reserved FROM inventory.items WHERE sku = $1`, [sku]);
    expect({ sku, ...rows[0] }).toEqual({ sku, available: stock - sold, reserved: 0 });
  }
  for (const [customer, deposit] of Object.entries(world.customers)) {
    const spent = confirmed.filter((o) => o.customer_id === customer).reduce((n, o) => n + Number(o.total_cents), 0);
    const { rows } = await db.billing.query(
      `SELECT -coalesce(sum(amount_cents), 0)::bigint AS balance FROM billing.postings WHERE account_id = $1`,
      [`customer:${customer}`],
    );
    expect({ customer, balance: Number(rows[0].balance) }).toEqual({ customer, balance: deposit - spent });
  }

  const { rows: ledger } = await db.billing.query(`SELECT
      (SELECT count(*) FROM (SELECT entry_id FROM billing.postings GROUP BY entry_id HAVING sum(amount_cents) <> 0) u)::int AS unbalanced,
      (SELECT coalesce(sum(amount_cents), 0) FROM billing.postings)::bigint AS total`);
  expect(ledger[0]).toEqual({ unbalanced: 0, total: '0' });

  const { rows: captures } = await db.billing.query(
    `SELECT order_id, count(*)::int AS n FROM billing.journal_entries WHERE kind = 'CAPTURE' GROUP BY order_id`,
  );
  expect(captures.filter((c: { n: number }) => c.n > 1)).toEqual([]);
  const { rows: refunds } = await db.billing.query(`SELECT count(*)::int AS n FROM billing.journal_entries WHERE kind = 'REFUND'`);
  expect(captures.length - refunds[0].n).toBe(confirmed.length);

  const deadLetters = `SELECT message_id, type, attempts, last_error FROM %s.outbox WHERE status = 'dead'`;
  const dead = [
    ...(await db.orders.query(deadLetters.replace('%s', 'orders'))).rows,
    ...(await db.orders.query(deadLetters.replace('%s', 'inventory'))).rows,
    ...(await db.billing.query(deadLetters.replace('%s', 'billing'))).rows,
  ];
  expect(dead).toEqual([]);
  return orders;
}
