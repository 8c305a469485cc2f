import {
  captureEntry,
  CASH_ACCOUNT,
  customerAccountId,
  customerBalance,
  decideCapture,
  depositEntry,
  exceedsBalanceLimit,
  isBalanced,
  MAX_BALANCE_CENTS,
  netOf,
  REVENUE_ACCOUNT,
  reversalOf,
} from './ledger';

const ada = customerAccountId('ada');

describe('ledger rules', () => {
  it('a deposit debits cash and credits the customer', () => {
    expect(depositEntry('e1', 'ada', 500)).toEqual({
      id: 'e1',
      kind: 'DEPOSIT',
      orderId: null,
      reversesEntryId: null,
      postings: [
        { accountId: CASH_ACCOUNT, amountCents: 500 },
        { accountId: ada, amountCents: -500 },
      ],
    });
  });

  it('a capture debits the customer and credits revenue, for the order', () => {
    const entry = captureEntry('e2', 'ada', 'order-1', 300);
    expect(entry).toMatchObject({ kind: 'CAPTURE', orderId: 'order-1', reversesEntryId: null });
    expect(entry.postings).toEqual([
      { accountId: ada, amountCents: 300 },
      { accountId: REVENUE_ACCOUNT, amountCents: -300 },
    ]);
  });

  it('a refund mirrors the capture it reverses, and both together cancel out', () => {
    const capture = captureEntry('e2', 'ada', 'order-1', 300);
    const refund = reversalOf('e3', capture);
    expect(refund).toMatchObject({ id: 'e3', kind: 'REFUND', orderId: 'order-1', reversesEntryId: 'e2' });
    expect(refund.postings).toEqual([
      { accountId: ada, amountCents: -300 },
      { accountId: REVENUE_ACCOUNT, amountCents: 300 },
    ]);
    expect(customerBalance(netOf([...capture.postings, ...refund.postings].filter((p) => p.accountId === ada)))).toBe(0);
  });

  it('an entry balances only with two or more non-zero postings summing to zero', () => {
    expect(isBalanced(depositEntry('e', 'ada', 1))).toBe(true);
    expect(
      isBalanced({
        postings: [
          { accountId: 'a', amountCents: 5 },
          { accountId: 'b', amountCents: -4 },
        ],
      }),
    ).toBe(false);
    expect(isBalanced({ postings: [] })).toBe(false);
    expect(
      isBalanced({
        postings: [
          { accountId: 'a', amountCents: 0 },
          { accountId: 'b', amountCents: 0 },
        ],
      }),
    ).toBe(false);
    expect(netOf([{ amountCents: 5 }, { amountCents: -4 }])).toBe(1);
  });

  it("derives a customer's balance as credits minus debits of their postings", () => {
    const postings = [depositEntry('d1', 'ada', 1000), depositEntry('d2', 'ada', 250), captureEntry('c', 'ada', 'o', 400)]
      .flatMap((e) => e.postings)
      .filter((p) => p.accountId === ada);
    expect(customerBalance(netOf(postings))).toBe(850);
    expect(customerBalance(netOf([]))).toBe(0);
  });

  it('declines a capture the balance does not cover (no overdraft), and says by how much', () => {
    expect(decideCapture(500, 500)).toEqual({ ok: true });
    expect(decideCapture(499, 500)).toEqual({ ok: false, shortByCents: 1 });
    expect(decideCapture(0, 1)).toEqual({ ok: false, shortByCents: 1 });
  });

  it('caps balances far below the largest exact JavaScript integer', () => {
    expect(MAX_BALANCE_CENTS * 10).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(exceedsBalanceLimit(MAX_BALANCE_CENTS - 5, 5)).toBe(false);
    expect(exceedsBalanceLimit(MAX_BALANCE_CENTS - 5, 6)).toBe(true);
  });

  it('rejects zero, negative, fractional or huge amounts', () => {
    for (const cents of [0, -1, 1.5, 10_000_000_001, Number.NaN]) {
      expect(() => depositEntry('e', 'ada', cents)).toThrow(RangeError);
      expect(() => captureEntry('e', 'ada', 'o', cents)).toThrow(RangeError);
    }
  });
});
