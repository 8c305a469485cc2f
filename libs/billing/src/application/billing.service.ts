import { Idempotency, InjectModuleDb, type ModuleDb, newId, type Tx } from '@app/platform';
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { PaymentDeclined } from '../contracts';
import { AccountAlreadyOpen, BalanceLimitExceeded, UnknownAccount } from '../domain/errors';
import * as ledger from '../domain/ledger';
import type { EntryKind, LedgerEntry } from '../domain/ledger';
import { BillingSql as Sql, type DeclineReason, type PaymentRow } from '../persistence';
import { centsFromDb, nullableCents } from '../persistence/cents';

export interface AccountView {
  customerId: string;
  balanceCents: number;
}

export interface CapturePaymentInput {
  orderId: string;
  customerId: string;
  amountCents: number;
}

export type CaptureOutcome =
  | { outcome: 'captured'; entryId: string; amountCents: number }
  | { outcome: 'declined'; reason: z.infer<typeof PaymentDeclined.schema>['reason']; detail: string };

export interface RefundPaymentInput {
  orderId: string;
  reason: string;
}

export interface RefundOutcome {
  refundedCents: number;
  /** The reversing entry; null when nothing had been captured. */
  entryId: string | null;
}

export interface LedgerVerification {
  balanced: boolean;
  entries: number;
  postings: number;
  totalDebitsCents: number;
  totalCreditsCents: number;
  unbalancedEntries: string[];
  /** Customer accounts whose kept balance differs from the sum of their postings (always empty unless tampered with). */
  driftedAccounts: string[];
}

/**
 * Billing's use cases. Every entry that touches a customer account first locks that account's row, so entries on
 * one account are serialised and a capture's balance check cannot race another capture. capturePayment and
 * refundPayment run in the caller's transaction (a message handler's), after the order's payment lock; they are
 * idempotent per order.
 */
@Injectable()
export class BillingService {
  constructor(
    @InjectModuleDb('billing') private readonly db: ModuleDb,
    private readonly idempotency: Idempotency,
  ) {}

  async openAccount(customerId: string): Promise<AccountView> {
    const rows = await this.db.query(Sql.openAccount, [ledger.customerAccountId(customerId), customerId]);
    if (rows.length === 0) throw new AccountAlreadyOpen(customerId);
    return { customerId, balanceCents: 0 };
  }

  async getAccount(customerId: string): Promise<AccountView> {
    const [row] = await this.db.query<{ posted_cents: string }>(Sql.account, [ledger.customerAccountId(customerId)]);
    if (!row) throw new UnknownAccount(customerId);
    return { customerId, balanceCents: ledger.customerBalance(centsFromDb(row.posted_cents)) };
  }

  /**
   * Credits the customer's account once per idempotency key: repeating the key with the same customer
   * and amount returns the first result; with anything else it is refused (see runIdempotent).
   */
  async deposit(customerId: string, amountCents: number, idempotencyKey: string, principal?: string): Promise<{ balanceCents: number }> {
    const request = { scope: 'billing.deposit', key: idempotencyKey, request: { customerId, amountCents }, principal };
    const response = await this.idempotency.run(this.db, request, async (tx) => {
      const entry = ledger.depositEntry(newId(), customerId, amountCents);
      const balanceCents = await this.lockAccount(tx, customerId);
      if (balanceCents === null) throw new UnknownAccount(customerId);
      if (ledger.exceedsBalanceLimit(balanceCents, amountCents)) throw new BalanceLimitExceeded(customerId, ledger.MAX_BALANCE_CENTS);
      post(tx, entry);
      return { status: 201, body: { balanceCents: balanceCents + amountCents } };
    });
    return response.body;
  }

  /**
   * Takes the order's amount from the customer's account, or declines without posting anything.
   * Repeating it for the same order returns the first outcome; after a refund of the order it declines with CANCELLED.
   */
  async capturePayment(tx: Tx, input: CapturePaymentInput): Promise<CaptureOutcome> {
    const { orderId, customerId, amountCents } = input;
    const entry = ledger.captureEntry(newId(), customerId, orderId, amountCents); // validates the amount up front
    tx.execute(Sql.lockOrder, [orderId]);
    const found = tx.query<PaymentRow>(Sql.payment, [orderId]);
    const balance = this.lockAccount(tx, customerId);
    const [[existing], balanceCents] = await Promise.all([found, balance]);
    if (existing) return outcomeOf(existing);
    if (balanceCents === null) {
      const detail = `Customer '${customerId}' has no account, so nothing was taken. Open one with POST /billing/accounts, deposit, then order again.`;
      return decline(tx, input, 'NO_ACCOUNT', detail);
    }
    const decision = ledger.decideCapture(balanceCents, amountCents);
    if (!decision.ok) {
      const detail =
        `The balance of '${customerId}' is ${balanceCents} cents, ${decision.shortByCents} short of the ${amountCents} to pay, so nothing was taken. ` +
        `Deposit at least ${decision.shortByCents} cents, then order again.`;
      return decline(tx, input, 'INSUFFICIENT_FUNDS', detail);
    }
    post(tx, entry);
    tx.execute(Sql.insertPayment, [orderId, 'CAPTURED', customerId, amountCents, null, null, null, entry.id]);
    return { outcome: 'captured', entryId: entry.id, amountCents };
  }

  /**
   * Gives a captured payment back with an entry that reverses the capture. When nothing was captured it
   * leaves a VOIDED tombstone, so a capture arriving later is declined. Repeating it returns the same result.
   */
  async refundPayment(tx: Tx, input: RefundPaymentInput): Promise<RefundOutcome> {
    const { orderId, reason } = input;
    tx.execute(Sql.lockOrder, [orderId]);
    const [payment] = await tx.query<PaymentRow>(Sql.payment, [orderId]);
    if (!payment) {
      tx.execute(Sql.insertPayment, [orderId, 'VOIDED', null, null, null, null, reason, null]);
      return { refundedCents: 0, entryId: null };
    }
    const amount = nullableCents(payment.amount_cents) ?? 0;
    if (payment.status === 'REFUNDED') return { refundedCents: amount, entryId: payment.refund_entry_id };
    if (payment.status !== 'CAPTURED') return { refundedCents: 0, entryId: null }; // DECLINED or VOIDED: nothing was taken

    const [, captured] = await Promise.all([this.lockAccount(tx, payment.customer_id!), loadEntry(tx, payment.capture_entry_id!)]);
    const refund = ledger.reversalOf(newId(), captured);
    post(tx, refund);
    tx.execute(Sql.refunded, [orderId, refund.id, reason]);
    return { refundedCents: amount, entryId: refund.id };
  }

  /** Checks the whole ledger: every entry sums to zero with at least two postings, so do all postings together, and every kept balance equals its postings. */
  async verifyLedger(): Promise<LedgerVerification> {
    const [row] = await this.db.query<{
      entries: string;
      postings: string;
      debits: string;
      credits: string;
      unbalanced: string[];
      drifted: string[];
    }>(Sql.verifyLedger);
    const totalDebitsCents = centsFromDb(row.debits);
    const totalCreditsCents = centsFromDb(row.credits);
    return {
      balanced: row.unbalanced.length === 0 && totalDebitsCents === totalCreditsCents && row.drifted.length === 0,
      entries: Number(row.entries),
      postings: Number(row.postings),
      totalDebitsCents,
      totalCreditsCents,
      unbalancedEntries: row.unbalanced,
      driftedAccounts: row.drifted,
    };
  }

  /** Locks the customer's account row until commit; resolves with its balance, or null when there is no such account. */
  private async lockAccount(tx: Tx, customerId: string): Promise<number | null> {
    tx.execute(Sql.lockAccount, [ledger.customerAccountId(customerId)]);
    const [row] = await tx.query<{ posted_cents: string }>(Sql.account, [ledger.customerAccountId(customerId)]);
    return row ? ledger.customerBalance(centsFromDb(row.posted_cents)) : null;
  }
}

function decline(tx: Tx, input: CapturePaymentInput, reason: DeclineReason, detail: string): CaptureOutcome {
  tx.execute(Sql.insertPayment, [input.orderId, 'DECLINED', input.customerId, input.amountCents, reason, detail, null, null]);
  return { outcome: 'declined', reason, detail };
}

function post(tx: Tx, entry: LedgerEntry): void {
  tx.execute(Sql.insertEntry, [entry.id, entry.kind, entry.orderId, entry.reversesEntryId]);
  tx.execute(Sql.insertPostings, [entry.id, entry.postings.map((p) => p.accountId), entry.postings.map((p) => p.amountCents)]);
}

async function loadEntry(tx: Tx, id: string): Promise<LedgerEntry> {
  const entry = tx.query<{ id: string; kind: EntryKind; order_id: string | null; reverses_entry_id: string | null }>(Sql.entry, [id]);
  const postings = tx.query<{ account_id: string; amount_cents: string }>(Sql.entryPostings, [id]);
  const [[e], rows] = await Promise.all([entry, postings]);
  return {
    id: e.id,
    kind: e.kind,
    orderId: e.order_id,
    reversesEntryId: e.reverses_entry_id,
    postings: rows.map((p) => ({ accountId: p.account_id, amountCents: centsFromDb(p.amount_cents) })),
  };
}

/** The answer to a repeated capture: the first outcome, or CANCELLED once the order was refunded or voided. */
function outcomeOf(payment: PaymentRow): CaptureOutcome {
  switch (payment.status) {
    case 'CAPTURED':
      return { outcome: 'captured', entryId: payment.capture_entry_id!, amountCents: centsFromDb(payment.amount_cents!) };
    case 'DECLINED':
      return { outcome: 'declined', reason: payment.decline_reason!, detail: payment.decline_detail ?? '' };
    case 'REFUNDED':
    case 'VOIDED':
      return {
        outcome: 'declined',
        reason: 'CANCELLED',
        detail: `The payment of order ${payment.order_id} was cancelled (${payment.refund_reason ?? 'no reason given'}) before this capture, so nothing was taken.`,
      };
  }
}
