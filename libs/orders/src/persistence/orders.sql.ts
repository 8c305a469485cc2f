import { statement } from '@app/platform';
import type { CancelReason, Order, OrderLine, OrderStatus, SagaState } from '../domain/order';

/**
 * One row per order. The saga's bookkeeping is a jsonb document beside the columns support and reports query
 * (status, reason, total). Saga steps lock the row (SELECT ... FOR UPDATE), so replies about one order apply one at a
 * time; `version` counts the changes (an ETag later, and a cheap "did it change" for support).
 *
 * The history is append-only, one row per entry: a step inserts only its new entries instead of rewriting an
 * ever-growing document in the order row, and the order row stays small for the FOR UPDATE reads every reply does.
 */
export interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  reason: CancelReason | null;
  /** bigint comes back from pg as a string; totals stay far below 2^53, so a number is exact. */
  total_cents: string | null;
  lines: OrderLine[];
  saga: SagaState;
}

export interface HistoryRow {
  at: Date;
  event: string;
  detail: string;
}

export function toOrder(r: OrderRow): Order {
  return {
    id: r.id,
    customerId: r.customer_id,
    lines: r.lines,
    totalCents: r.total_cents === null ? null : Number(r.total_cents),
    status: r.status,
    reason: r.reason,
    saga: r.saga,
  };
}

/** A copy of a saga command still in orders' outbox: not handed over to its transport yet (pending), or dead-lettered. */
export interface UndeliveredRow {
  message_id: string;
  status: 'pending' | 'dead';
  since: Date;
}

const ORDER = 'id, customer_id, status, reason, total_cents, lines, saga';

/** Orders' statements (its own schema, by the role's search_path). */
export const OrdersSql = {
  insertOrder: statement(`INSERT INTO orders (id, customer_id, status, reason, total_cents, lines, saga, version)
    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, 1)`),
  order: statement(`SELECT ${ORDER} FROM orders WHERE id = $1`),
  lockOrder: statement(`SELECT ${ORDER} FROM orders WHERE id = $1 FOR UPDATE`),
  updateOrder: statement(`UPDATE orders SET status = $2, reason = $3, total_cents = $4, lines = $5::jsonb, saga = $6::jsonb,
      version = version + 1, updated_at = now() WHERE id = $1`),
  /** Appends entries after the order's last one; the caller holds the order row's lock, so seq cannot race. */
  appendHistory: statement(`INSERT INTO order_history (order_id, seq, at, event, detail)
    SELECT $1, last.seq + e.ord, e.at, e.event, e.detail
      FROM (SELECT coalesce(max(seq), 0) AS seq FROM order_history WHERE order_id = $1) last,
           unnest($2::timestamptz[], $3::text[], $4::text[]) WITH ORDINALITY AS e(at, event, detail, ord)`),
  history: statement(`SELECT at, event, detail FROM order_history WHERE order_id = $1 ORDER BY seq`),
  /** Delivered copies are deleted from the outbox, so what is left of an awaited command has not reached its receiver. */
  undelivered: statement(`SELECT message_id::text, status, min(created_at) AS since FROM outbox
    WHERE message_id = ANY($1::uuid[]) AND status IN ('pending', 'dead') GROUP BY message_id, status`),
  /** Parked orders, oldest first (index orders_attention). */
  needingAttention: statement(`SELECT ${ORDER} FROM orders WHERE jsonb_typeof(saga->'attention') = 'object'
    ORDER BY saga->'attention'->>'since', id LIMIT $1`),
};
