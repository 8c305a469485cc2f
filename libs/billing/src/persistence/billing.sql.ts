import { statement } from '@app/platform';

/** CAPTURED → REFUNDED; DECLINED stays; VOIDED is the tombstone of a refund that came before any capture. */
export type PaymentStatus = 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';
export type DeclineReason = 'INSUFFICIENT_FUNDS' | 'NO_ACCOUNT';

/** One payment per order: the order id makes capture and refund idempotent. The money itself is in the ledger. */
export interface PaymentRow {
  order_id: string;
  status: PaymentStatus;
  /** Null on a VOIDED tombstone: the refund named only the order. */
  customer_id: string | null;
  amount_cents: string | null;
  decline_reason: DeclineReason | null;
  decline_detail: string | null;
  refund_reason: string | null;
  capture_entry_id: string | null;
  refund_entry_id: string | null;
}

const PAYMENT = `order_id, status, customer_id, amount_cents, decline_reason, decline_detail, refund_reason, capture_entry_id, refund_entry_id`;

/** Billing's statements (its own schema, by the role's search_path). */
export const BillingSql = {
  openAccount: statement(`INSERT INTO accounts (id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id`),
  /** posted_cents: the sum of the account's postings, kept by a trigger on postings (the app cannot write it). */
  account: statement(`SELECT posted_cents FROM accounts WHERE id = $1`),
  /**
   * Serialises every entry on one account (an advisory lock: the app may not UPDATE accounts, so it cannot take their
   * row locks). The balance is read by the next statement, whose snapshot is taken once the lock is held.
   */
  lockAccount: statement(`SELECT pg_advisory_xact_lock(hashtextextended('billing.account:' || $1, 0))`),
  /** Serialises capture and refund of one order, including the first one, before any payments row exists. */
  lockOrder: statement(`SELECT pg_advisory_xact_lock(hashtextextended('billing.payment:' || $1, 0))`),
  payment: statement(`SELECT ${PAYMENT} FROM payments WHERE order_id = $1`),
  insertEntry: statement(`INSERT INTO journal_entries (id, kind, order_id, reverses_entry_id) VALUES ($1, $2, $3, $4)`),
  insertPostings: statement(`INSERT INTO postings (entry_id, account_id, amount_cents)
    SELECT $1, a, c FROM unnest($2::text[], $3::bigint[]) AS p(a, c)`),
  entryPostings: statement(`SELECT account_id, amount_cents FROM postings WHERE entry_id = $1 ORDER BY account_id`),
  entry: statement(`SELECT id, kind, order_id, reverses_entry_id FROM journal_entries WHERE id = $1`),
  insertPayment:
    statement(`INSERT INTO payments (order_id, status, customer_id, amount_cents, decline_reason, decline_detail, refund_reason, capture_entry_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
  refunded: statement(
    `UPDATE payments SET status = 'REFUNDED', refund_entry_id = $2, refund_reason = $3, updated_at = now() WHERE order_id = $1`,
  ),
  /** One statement, so every figure comes from the same snapshot. */
  verifyLedger: statement(`
    SELECT (SELECT count(*) FROM journal_entries) AS entries,
           count(*) AS postings,
           coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0) AS debits,
           coalesce(-sum(amount_cents) FILTER (WHERE amount_cents < 0), 0) AS credits,
           (SELECT coalesce(array_agg(id::text ORDER BY id), '{}') FROM (
              SELECT e.id FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
              GROUP BY e.id HAVING count(p.entry_id) < 2 OR coalesce(sum(p.amount_cents), 0) <> 0) AS u) AS unbalanced,
           (SELECT coalesce(array_agg(a.id ORDER BY a.id), '{}') FROM accounts a
             WHERE a.customer_id IS NOT NULL
               AND a.posted_cents <> coalesce((SELECT sum(amount_cents) FROM postings p WHERE p.account_id = a.id), 0)) AS drifted
      FROM postings`),
};
