// The saga's transactions as DBOS transactions (@dbos-inc/drizzle-datasource over node-postgres, pg 8 like the
// monolith): each runs in one database transaction that also records its result, so it takes effect exactly once.
// The SQL does what the monolith's modules do to the same tables (libs/*/src/application/*.service.ts), with
// schema-qualified names because this app logs in as one role (see README.md).
import { DrizzleDataSource } from '@dbos-inc/drizzle-datasource';
import { sql } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';

/** One pool for every schema; DBOS's system database (schema dbos) has its own pool. */
export function appDataSource(pool) {
  const ds = new DrizzleDataSource('app', pool);
  const query = async (statement) => (await ds.client.execute(statement)).rows;
  const tx = (name, fn) => ds.registerTransaction(fn, { name });
  return { ds, query, tx };
}

export function defineSteps({ query, tx }) {
  const history = (orderId, entries) =>
    query(sql`INSERT INTO orders.order_history (order_id, seq, at, event, detail)
      SELECT ${orderId}::uuid, last.seq + e.ord, e.at, e.event, e.detail
        FROM (SELECT coalesce(max(seq), 0) AS seq FROM orders.order_history WHERE order_id = ${orderId}::uuid) last,
             unnest(${sql.param(entries.map(() => new Date()))}::timestamptz[], ${sql.param(entries.map((e) => e[0]))}::text[],
                    ${sql.param(entries.map((e) => e[1]))}::text[]) WITH ORDINALITY AS e(at, event, detail, ord)`);

  const setOrder = (orderId, { status, reason = null, totalCents, lines, step }) =>
    query(sql`UPDATE orders.orders SET status = ${status}, reason = ${reason}, total_cents = coalesce(${totalCents ?? null}::bigint, total_cents),
      lines = coalesce(${lines ? JSON.stringify(lines) : null}::jsonb, lines), saga = jsonb_set(saga, '{step}', to_jsonb(${step}::text)),
      version = version + 1, updated_at = now() WHERE id = ${orderId}::uuid`);

  /** Items row-locked in sku order, so two reservations of the same items queue instead of deadlocking. */
  const lockItems = (skus) =>
    query(sql`SELECT sku, price_cents, available, reserved FROM inventory.items
      WHERE sku = ANY(${sql.param([...new Set(skus)].sort())}::text[]) ORDER BY sku FOR UPDATE`);

  const saveLevels = async (items) => {
    for (const i of items)
      await query(
        sql`UPDATE inventory.items SET available = ${i.available}, reserved = ${i.reserved}, updated_at = now() WHERE sku = ${i.sku}`,
      );
  };

  /** A reservation's status change with its effect on stock (release: back to available; commit: leaves the warehouse). */
  const moveReservation = async (orderId, to, apply) => {
    const [r] = await query(sql`SELECT status, lines FROM inventory.reservations WHERE order_id = ${orderId}::uuid FOR UPDATE`);
    if (!r && to === 'RELEASED') {
      // a release that overtook its reserve leaves a tombstone, so the late reserve is refused
      await query(
        sql`INSERT INTO inventory.reservations (order_id, status, lines) VALUES (${orderId}::uuid, 'RELEASED', '[]') ON CONFLICT DO NOTHING`,
      );
      return;
    }
    if (!r || r.status === to) return;
    const items = new Map((await lockItems(r.lines.map((l) => l.sku))).map((i) => [i.sku, i]));
    for (const l of r.lines) apply(items.get(l.sku), l.quantity);
    await saveLevels([...items.values()]);
    await query(sql`UPDATE inventory.reservations SET status = ${to}, updated_at = now() WHERE order_id = ${orderId}::uuid`);
  };

  return {
    placeOrder: tx('placeOrder', async (orderId, customerId, lines, workflowId) => {
      await query(sql`INSERT INTO orders.orders (id, customer_id, status, lines, saga)
        VALUES (${orderId}::uuid, ${customerId}, 'PENDING', ${JSON.stringify(lines)}::jsonb, ${JSON.stringify({ engine: 'dbos', workflowId, step: 'RESERVING' })}::jsonb)
        ON CONFLICT (id) DO NOTHING`);
      await history(orderId, [['Order placed', `Customer ${customerId} ordered; reserving the stock.`]]);
    }),

    /** All lines or none, at the current prices. */
    reserveStock: tx('reserveStock', async (orderId, lines) => {
      const [existing] = await query(sql`SELECT status, lines FROM inventory.reservations WHERE order_id = ${orderId}::uuid FOR UPDATE`);
      if (existing?.status === 'RELEASED') return { ok: false, shortages: [] };
      const total = (ls) => ls.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      if (existing) return { ok: true, lines: existing.lines, totalCents: total(existing.lines) };
      const wanted = new Map();
      for (const l of lines) wanted.set(l.sku, (wanted.get(l.sku) ?? 0) + l.quantity);
      const items = new Map((await lockItems([...wanted.keys()])).map((i) => [i.sku, i]));
      const shortages = [...wanted].filter(([sku, q]) => !items.has(sku) || items.get(sku).available < q);
      if (shortages.length > 0) return { ok: false, shortages: shortages.map(([sku, requested]) => ({ sku, requested })) };
      const reserved = [...wanted].map(([sku, quantity]) => ({ sku, quantity, unitPriceCents: items.get(sku).price_cents }));
      for (const [sku, q] of wanted)
        Object.assign(items.get(sku), { available: items.get(sku).available - q, reserved: items.get(sku).reserved + q });
      await saveLevels([...items.values()]);
      await query(
        sql`INSERT INTO inventory.reservations (order_id, status, lines) VALUES (${orderId}::uuid, 'RESERVED', ${JSON.stringify(reserved)}::jsonb)`,
      );
      return { ok: true, lines: reserved, totalCents: total(reserved) };
    }),

    releaseStock: tx('releaseStock', (orderId) =>
      moveReservation(orderId, 'RELEASED', (item, q) =>
        Object.assign(item, { available: item.available + q, reserved: item.reserved - q }),
      ),
    ),

    commitStock: tx('commitStock', async (orderId) => {
      await moveReservation(orderId, 'COMMITTED', (item, q) => Object.assign(item, { reserved: item.reserved - q }));
      await query(
        sql`UPDATE orders.orders SET saga = jsonb_set(saga, '{step}', '"DONE"'), version = version + 1, updated_at = now() WHERE id = ${orderId}::uuid`,
      );
      await history(orderId, [['Stock committed', 'Inventory confirmed that the stock left the warehouse for this order.']]);
    }),

    /** Takes the amount from the customer's account, or declines; the ledger's triggers check balance and immutability. */
    capturePayment: tx('capturePayment', async (orderId, customerId, amountCents) => {
      // ids made inside a transaction are safe: its result is recorded in the same commit, and replayed after a crash
      const entryId = uuidv7();
      await query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`billing.payment:${orderId}`}, 0))`);
      const [existing] = await query(sql`SELECT status, capture_entry_id FROM billing.payments WHERE order_id = ${orderId}::uuid`);
      if (existing) return existing.status === 'CAPTURED' ? { captured: true, entryId: existing.capture_entry_id } : { captured: false };
      const account = `customer:${customerId}`;
      const [locked] = await query(sql`SELECT id FROM billing.accounts WHERE id = ${account} FOR UPDATE`);
      const decline = async (reason, detail) => {
        await query(sql`INSERT INTO billing.payments (order_id, status, customer_id, amount_cents, decline_reason, decline_detail)
          VALUES (${orderId}::uuid, 'DECLINED', ${customerId}, ${amountCents}, ${reason}, ${detail})`);
        return { captured: false, reason, detail };
      };
      if (!locked) return decline('NO_ACCOUNT', `Customer '${customerId}' has no account, so nothing was taken.`);
      const [{ net }] = await query(
        sql`SELECT coalesce(sum(amount_cents), 0)::bigint::text AS net FROM billing.postings WHERE account_id = ${account}`,
      );
      const balance = -Number(net);
      if (balance < amountCents)
        return decline('INSUFFICIENT_FUNDS', `The balance is ${balance} cents, short of the ${amountCents} to pay.`);
      await query(sql`INSERT INTO billing.journal_entries (id, kind, order_id) VALUES (${entryId}::uuid, 'CAPTURE', ${orderId}::uuid)`);
      await query(sql`INSERT INTO billing.postings (entry_id, account_id, amount_cents)
        VALUES (${entryId}::uuid, ${account}, ${amountCents}), (${entryId}::uuid, 'revenue', ${-amountCents})`);
      await query(sql`INSERT INTO billing.payments (order_id, status, customer_id, amount_cents, capture_entry_id)
        VALUES (${orderId}::uuid, 'CAPTURED', ${customerId}, ${amountCents}, ${entryId}::uuid)`);
      return { captured: true, entryId };
    }),

    /** Reverses a capture; with none, leaves a VOIDED tombstone so that a late capture is declined. */
    refundPayment: tx('refundPayment', async (orderId, reason) => {
      const refundEntryId = uuidv7();
      await query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`billing.payment:${orderId}`}, 0))`);
      const [p] = await query(sql`SELECT status, customer_id, capture_entry_id FROM billing.payments WHERE order_id = ${orderId}::uuid`);
      if (!p)
        return void (await query(
          sql`INSERT INTO billing.payments (order_id, status, refund_reason) VALUES (${orderId}::uuid, 'VOIDED', ${reason})`,
        ));
      if (p.status !== 'CAPTURED') return;
      await query(sql`SELECT id FROM billing.accounts WHERE id = ${`customer:${p.customer_id}`} FOR UPDATE`);
      await query(
        sql`INSERT INTO billing.journal_entries (id, kind, order_id, reverses_entry_id) VALUES (${refundEntryId}::uuid, 'REFUND', ${orderId}::uuid, ${p.capture_entry_id}::uuid)`,
      );
      await query(sql`INSERT INTO billing.postings (entry_id, account_id, amount_cents)
        SELECT ${refundEntryId}::uuid, account_id, -amount_cents FROM billing.postings WHERE entry_id = ${p.capture_entry_id}::uuid`);
      await query(sql`UPDATE billing.payments SET status = 'REFUNDED', refund_entry_id = ${refundEntryId}::uuid, refund_reason = ${reason}, updated_at = now()
        WHERE order_id = ${orderId}::uuid`);
    }),

    /** The transaction whose commit the benchmark reads as the confirmation (the 'Order confirmed' history row). */
    confirmOrder: tx('confirmOrder', async (orderId, reservation, entryId) => {
      await setOrder(orderId, { status: 'CONFIRMED', totalCents: reservation.totalCents, lines: reservation.lines, step: 'COMMITTING' });
      await history(orderId, [
        ['Stock reserved', `Inventory reserved the stock: ${reservation.totalCents} cents in total.`],
        ['Payment captured', `${reservation.totalCents} cents were taken from the customer's account (ledger entry ${entryId}).`],
        ['Order confirmed', 'The order is confirmed. Asking inventory to send the stock out.'],
      ]);
    }),

    cancelOrder: tx('cancelOrder', async (orderId, reason, notes) => {
      await setOrder(orderId, { status: 'CANCELLED', reason, step: 'DONE' });
      await history(orderId, [...notes, ['Order cancelled', `The order is cancelled (${reason}); nothing is held for it.`]]);
    }),
  };
}

/** Setup requests (catalogue, accounts, deposits): plain transactions outside any workflow, or one-step workflows. */
export function defineShop({ query, tx }) {
  return {
    createItem: tx('createItem', async ({ sku, name, priceCents, quantity }) => {
      const rows = await query(sql`INSERT INTO inventory.items (sku, name, price_cents, available, reserved)
        VALUES (${sku}, ${name}, ${priceCents}, ${quantity}, 0) ON CONFLICT DO NOTHING RETURNING sku`);
      return rows.length === 1 ? { sku, name, priceCents, available: quantity, reserved: 0 } : null;
    }),
    openAccount: tx('openAccount', async (customerId) => {
      const rows = await query(
        sql`INSERT INTO billing.accounts (id, customer_id) VALUES (${`customer:${customerId}`}, ${customerId}) ON CONFLICT DO NOTHING RETURNING id`,
      );
      return rows.length === 1;
    }),
    deposit: tx('deposit', async (customerId, amountCents) => {
      const entryId = uuidv7();
      const account = `customer:${customerId}`;
      const [locked] = await query(sql`SELECT id FROM billing.accounts WHERE id = ${account} FOR UPDATE`);
      if (!locked) return null;
      await query(sql`INSERT INTO billing.journal_entries (id, kind) VALUES (${entryId}::uuid, 'DEPOSIT')`);
      await query(
        sql`INSERT INTO billing.postings (entry_id, account_id, amount_cents) VALUES (${entryId}::uuid, 'cash', ${amountCents}), (${entryId}::uuid, ${account}, ${-amountCents})`,
      );
      const [{ net }] = await query(
        sql`SELECT coalesce(sum(amount_cents), 0)::bigint::text AS net FROM billing.postings WHERE account_id = ${account}`,
      );
      return { balanceCents: -Number(net) };
    }),
  };
}
