import { InjectModuleDataSource, runIdempotent } from '@app/platform';
import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { z } from 'zod';
import type { PaymentDeclined } from '../contracts';
import { AccountAlreadyOpen, BalanceLimitExceeded, UnknownAccount } from '../domain/errors';
import * as ledger from '../domain/ledger';
import type { LedgerEntry } from '../domain/ledger';
import { centsFromDb } from '../persistence/cents';
import { AccountRecord, JournalEntryRecord, PaymentRecord, PostingRecord } from '../persistence';
import type { DeclineReason } from '../persistence/payment.record';

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
}

/**
 * Billing's use cases. Every entry that touches a customer account first locks that account's row, so
 * entries on one account are serialised and a capture's balance check cannot race another capture.
 * capturePayment and refundPayment take an optional EntityManager so they can join a message handler's
 * transaction; they are idempotent per order.
 */
@Injectable()
export class BillingService {
  constructor(@InjectModuleDataSource('billing') private readonly db: DataSource) {}

  async openAccount(customerId: string): Promise<AccountView> {
    const inserted = await this.db
      .createQueryBuilder()
      .insert()
      .into(AccountRecord)
      .values({ id: ledger.customerAccountId(customerId), customerId })
      .orIgnore()
      .returning('id')
      .execute();
    if ((inserted.raw as unknown[]).length === 0) throw new AccountAlreadyOpen(customerId);
    return { customerId, balanceCents: 0 };
  }

  async getAccount(customerId: string): Promise<AccountView> {
    const [row]: { net: string }[] = await this.db.query(
      `SELECT coalesce(sum(p.amount_cents), 0) AS net FROM accounts a LEFT JOIN postings p ON p.account_id = a.id WHERE a.id = $1 GROUP BY a.id`,
      [ledger.customerAccountId(customerId)],
    );
    if (!row) throw new UnknownAccount(customerId);
    return { customerId, balanceCents: ledger.customerBalance(centsFromDb(row.net)) };
  }

  /**
   * Credits the customer's account once per idempotency key: repeating the key with the same customer
   * and amount returns the first result; with anything else it is refused (see runIdempotent).
   */
  async deposit(customerId: string, amountCents: number, idempotencyKey: string): Promise<{ balanceCents: number }> {
    const request = { scope: 'billing.deposit', key: idempotencyKey, request: { customerId, amountCents } };
    const response = await runIdempotent(this.db, request, async (em) => {
      const entry = ledger.depositEntry(uuidv7(), customerId, amountCents);
      if (!(await this.lockAccount(em, customerId))) throw new UnknownAccount(customerId);
      const balanceCents = await this.balanceOf(em, customerId);
      if (ledger.exceedsBalanceLimit(balanceCents, amountCents)) throw new BalanceLimitExceeded(customerId, ledger.MAX_BALANCE_CENTS);
      await this.post(em, entry);
      return { status: 201, body: { balanceCents: balanceCents + amountCents } };
    });
    return response.body;
  }

  /**
   * Takes the order's amount from the customer's account, or declines without posting anything.
   * Repeating it for the same order returns the first outcome; after a refund of the order it declines with CANCELLED.
   */
  async capturePayment(input: CapturePaymentInput, em?: EntityManager): Promise<CaptureOutcome> {
    const { orderId, customerId, amountCents } = input;
    const entry = ledger.captureEntry(uuidv7(), customerId, orderId, amountCents); // validates the amount up front
    return this.inTransaction(em, async (tx) => {
      await this.lockOrder(tx, orderId);
      const payments = tx.getRepository(PaymentRecord);
      const existing = await payments.findOneBy({ orderId });
      if (existing) return outcomeOf(existing);

      if (!(await this.lockAccount(tx, customerId))) {
        const detail = `Customer '${customerId}' has no account, so nothing was taken. Open one with POST /billing/accounts, deposit, then order again.`;
        return this.decline(tx, input, 'NO_ACCOUNT', detail);
      }
      const balanceCents = await this.balanceOf(tx, customerId);
      const decision = ledger.decideCapture(balanceCents, amountCents);
      if (!decision.ok) {
        const detail =
          `The balance of '${customerId}' is ${balanceCents} cents, ${decision.shortByCents} short of the ${amountCents} to pay, so nothing was taken. ` +
          `Deposit at least ${decision.shortByCents} cents, then order again.`;
        return this.decline(tx, input, 'INSUFFICIENT_FUNDS', detail);
      }
      await this.post(tx, entry);
      await payments.insert({ orderId, status: 'CAPTURED', customerId, amountCents, captureEntryId: entry.id });
      return { outcome: 'captured', entryId: entry.id, amountCents };
    });
  }

  /**
   * Gives a captured payment back with an entry that reverses the capture. When nothing was captured it
   * leaves a VOIDED tombstone, so a capture arriving later is declined. Repeating it returns the same result.
   */
  async refundPayment(input: RefundPaymentInput, em?: EntityManager): Promise<RefundOutcome> {
    const { orderId, reason } = input;
    return this.inTransaction(em, async (tx) => {
      await this.lockOrder(tx, orderId);
      const payments = tx.getRepository(PaymentRecord);
      const payment = await payments.findOneBy({ orderId });
      if (!payment) {
        await payments.insert({ orderId, status: 'VOIDED', refundReason: reason });
        return { refundedCents: 0, entryId: null };
      }
      if (payment.status === 'REFUNDED') return { refundedCents: payment.amountCents!, entryId: payment.refundEntryId };
      if (payment.status !== 'CAPTURED') return { refundedCents: 0, entryId: null }; // DECLINED or VOIDED: nothing was taken

      await this.lockAccount(tx, payment.customerId!);
      const refund = ledger.reversalOf(uuidv7(), await this.loadEntry(tx, payment.captureEntryId!));
      await this.post(tx, refund);
      await payments.update({ orderId }, { status: 'REFUNDED', refundEntryId: refund.id, refundReason: reason });
      return { refundedCents: payment.amountCents!, entryId: refund.id };
    });
  }

  /** Checks the whole ledger: every entry sums to zero with at least two postings, and so do all postings together. */
  async verifyLedger(): Promise<LedgerVerification> {
    // One statement, so every figure comes from the same snapshot.
    const [row]: { entries: string; postings: string; debits: string; credits: string; unbalanced: string[] }[] = await this.db.query(`
      SELECT (SELECT count(*) FROM journal_entries) AS entries,
             count(*) AS postings,
             coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0) AS debits,
             coalesce(-sum(amount_cents) FILTER (WHERE amount_cents < 0), 0) AS credits,
             (SELECT coalesce(array_agg(id::text ORDER BY id), '{}') FROM (
                SELECT e.id FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
                GROUP BY e.id HAVING count(p.entry_id) < 2 OR coalesce(sum(p.amount_cents), 0) <> 0) AS u) AS unbalanced
        FROM postings`);
    const totalDebitsCents = centsFromDb(row.debits);
    const totalCreditsCents = centsFromDb(row.credits);
    return {
      balanced: row.unbalanced.length === 0 && totalDebitsCents === totalCreditsCents,
      entries: Number(row.entries),
      postings: Number(row.postings),
      totalDebitsCents,
      totalCreditsCents,
      unbalancedEntries: row.unbalanced,
    };
  }

  private async decline(tx: EntityManager, input: CapturePaymentInput, reason: DeclineReason, detail: string): Promise<CaptureOutcome> {
    await tx.getRepository(PaymentRecord).insert({ ...input, status: 'DECLINED', declineReason: reason, declineDetail: detail });
    return { outcome: 'declined', reason, detail };
  }

  /** Serialises capture and refund of one order, including the first one, before any payments row exists. */
  private async lockOrder(tx: EntityManager, orderId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`billing.payment:${orderId}`]);
  }

  /** Locks the customer's account row until commit; false when there is no such account. */
  private async lockAccount(tx: EntityManager, customerId: string): Promise<boolean> {
    const account = await tx
      .getRepository(AccountRecord)
      .findOne({ where: { id: ledger.customerAccountId(customerId) }, lock: { mode: 'pessimistic_write' } });
    return account !== null;
  }

  /** Derived from the postings, never stored. */
  private async balanceOf(tx: EntityManager, customerId: string): Promise<number> {
    const [row]: { net: string }[] = await tx.query(`SELECT coalesce(sum(amount_cents), 0) AS net FROM postings WHERE account_id = $1`, [
      ledger.customerAccountId(customerId),
    ]);
    return ledger.customerBalance(centsFromDb(row.net));
  }

  private async post(tx: EntityManager, entry: LedgerEntry): Promise<void> {
    await tx
      .getRepository(JournalEntryRecord)
      .insert({ id: entry.id, kind: entry.kind, orderId: entry.orderId, reversesEntryId: entry.reversesEntryId });
    await tx
      .getRepository(PostingRecord)
      .insert(entry.postings.map((p) => ({ entryId: entry.id, accountId: p.accountId, amountCents: p.amountCents })));
  }

  private async loadEntry(tx: EntityManager, id: string): Promise<LedgerEntry> {
    const entry = await tx.getRepository(JournalEntryRecord).findOneByOrFail({ id });
    const postings = await tx.getRepository(PostingRecord).find({ where: { entryId: id }, order: { accountId: 'ASC' } });
    return {
      id: entry.id,
      kind: entry.kind,
      orderId: entry.orderId,
      reversesEntryId: entry.reversesEntryId,
      postings: postings.map((p) => ({ accountId: p.accountId, amountCents: p.amountCents })),
    };
  }

  private inTransaction<T>(em: EntityManager | undefined, work: (em: EntityManager) => Promise<T>): Promise<T> {
    if (!em) return this.db.transaction(work);
    // Outside a transaction the row and order locks would be released after each statement.
    if (!em.queryRunner?.isTransactionActive) {
      throw new Error('Pass the EntityManager of an active transaction (the one dataSource.transaction(em => ...) gives you), or none.');
    }
    return work(em);
  }
}

/** The answer to a repeated capture: the first outcome, or CANCELLED once the order was refunded or voided. */
function outcomeOf(payment: PaymentRecord): CaptureOutcome {
  switch (payment.status) {
    case 'CAPTURED':
      return { outcome: 'captured', entryId: payment.captureEntryId!, amountCents: payment.amountCents! };
    case 'DECLINED':
      return { outcome: 'declined', reason: payment.declineReason!, detail: payment.declineDetail ?? '' };
    case 'REFUNDED':
    case 'VOIDED':
      return {
        outcome: 'declined',
        reason: 'CANCELLED',
        detail: `The payment of order ${payment.orderId} was cancelled (${payment.refundReason ?? 'no reason given'}) before this capture, so nothing was taken.`,
      };
  }
}
