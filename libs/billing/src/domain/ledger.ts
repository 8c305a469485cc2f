/**
 * Billing's ledger rules, free of framework and database code.
 *
 * Every money movement is a journal entry of postings that sum to zero. A posting's amount is signed:
 * a DEBIT is positive, a CREDIT negative. A customer account holds money we owe the customer, so its
 * balance is credits − debits (the negated sum of its postings): a deposit credits it, a capture debits it.
 * Posted entries are never changed; a refund is a new entry that reverses the capture.
 */

export type EntryKind = 'DEPOSIT' | 'CAPTURE' | 'REFUND';

/** One line of an entry: debit (amountCents > 0) or credit (amountCents < 0) of one account. */
export interface Posting {
  accountId: string;
  amountCents: number;
}

export interface LedgerEntry {
  id: string;
  kind: EntryKind;
  /** The order a capture or refund belongs to; null for deposits. */
  orderId: string | null;
  /** The entry this one undoes (refunds); null otherwise. */
  reversesEntryId: string | null;
  postings: Posting[];
}

/** Where deposited money sits (an asset: debited by deposits). */
export const CASH_ACCOUNT = 'cash';
/** Where captured sales go (income: credited by captures, debited by refunds). */
export const REVENUE_ACCOUNT = 'revenue';

/** Largest single amount (the same ceiling as the HTTP CentsSchema). */
export const MAX_AMOUNT_CENTS = 10_000_000_000;
/** Largest balance a customer account may hold: far below Number.MAX_SAFE_INTEGER, so every sum stays exact. */
export const MAX_BALANCE_CENTS = 100_000_000_000_000;

/** The ledger account of a customer. Customer ids never contain ':', so they cannot collide with system accounts. */
export function customerAccountId(customerId: string): string {
  return `customer:${customerId}`;
}

/** Money comes in: debit cash, credit the customer. */
export function depositEntry(id: string, customerId: string, amountCents: number): LedgerEntry {
  assertAmount(amountCents);
  return balanced({
    id,
    kind: 'DEPOSIT',
    orderId: null,
    reversesEntryId: null,
    postings: [
      { accountId: CASH_ACCOUNT, amountCents },
      { accountId: customerAccountId(customerId), amountCents: -amountCents },
    ],
  });
}

/** An order is paid: debit the customer, credit revenue. */
export function captureEntry(id: string, customerId: string, orderId: string, amountCents: number): LedgerEntry {
  assertAmount(amountCents);
  return balanced({
    id,
    kind: 'CAPTURE',
    orderId,
    reversesEntryId: null,
    postings: [
      { accountId: customerAccountId(customerId), amountCents },
      { accountId: REVENUE_ACCOUNT, amountCents: -amountCents },
    ],
  });
}

/** Undoes an entry by posting its mirror image: every posting with the opposite sign. */
export function reversalOf(id: string, entry: LedgerEntry): LedgerEntry {
  return balanced({
    id,
    kind: 'REFUND',
    orderId: entry.orderId,
    reversesEntryId: entry.id,
    postings: entry.postings.map((p) => ({ accountId: p.accountId, amountCents: -p.amountCents })),
  });
}

/** Debits − credits: the plain sum of signed amounts. Zero for a balanced entry. */
export function netOf(postings: readonly Pick<Posting, 'amountCents'>[]): number {
  return postings.reduce((sum, p) => sum + p.amountCents, 0);
}

/** An entry balances when it moves money between at least two postings and they sum to zero. */
export function isBalanced(entry: Pick<LedgerEntry, 'postings'>): boolean {
  return entry.postings.length >= 2 && entry.postings.every((p) => p.amountCents !== 0) && netOf(entry.postings) === 0;
}

/** A customer's balance from the net (debits − credits, see netOf) of their account's postings: credits − debits. */
export function customerBalance(netCents: number): number {
  return 0 - netCents; // not -netCents, which makes -0 of an empty account
}

export type CaptureDecision = { ok: true } | { ok: false; shortByCents: number };

/** No overdraft: a capture goes through only if the balance covers all of it. */
export function decideCapture(balanceCents: number, amountCents: number): CaptureDecision {
  assertAmount(amountCents);
  return balanceCents >= amountCents ? { ok: true } : { ok: false, shortByCents: amountCents - balanceCents };
}

/** True when depositing `amountCents` would push the balance past MAX_BALANCE_CENTS. */
export function exceedsBalanceLimit(balanceCents: number, amountCents: number): boolean {
  return balanceCents + amountCents > MAX_BALANCE_CENTS;
}

function balanced(entry: LedgerEntry): LedgerEntry {
  if (!isBalanced(entry)) throw new Error(`Journal entry ${entry.id} does not balance: its postings sum to ${netOf(entry.postings)} cents`);
  return entry;
}

function assertAmount(cents: number): void {
  if (!Number.isSafeInteger(cents) || cents <= 0 || cents > MAX_AMOUNT_CENTS) {
    throw new RangeError(`amount must be a whole number of cents from 1 to ${MAX_AMOUNT_CENTS}, got ${cents}`);
  }
}
