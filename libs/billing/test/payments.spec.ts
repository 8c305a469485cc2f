import { createTestApp, type ModuleDb, moduleDbToken, type TestApp } from '@app/platform';
import { randomUUID } from 'node:crypto';
import { BillingService, type CapturePaymentInput, type RefundPaymentInput } from '../src/application/billing.service';
import { BillingModule } from '../src/billing.module';

describe('payments of orders against real PostgreSQL', () => {
  let t: TestApp;
  let billing: BillingService;
  let db: ModuleDb;
  /** The saga steps, each in a transaction of its own (as a message handler's). */
  const saga = {
    capturePayment: (input: CapturePaymentInput) => db.transaction((tx) => billing.capturePayment(tx, input)),
    refundPayment: (input: RefundPaymentInput) => db.transaction((tx) => billing.refundPayment(tx, input)),
  };
  const entriesOf = (orderId: string): Promise<{ id: string; kind: string; reverses_entry_id: string | null }[]> =>
    db.query(`SELECT id, kind, reverses_entry_id FROM journal_entries WHERE order_id = $1 ORDER BY kind`, [orderId]);
  const account = async (customerId: string, depositCents: number) => {
    await billing.openAccount(customerId);
    if (depositCents > 0) await billing.deposit(customerId, depositCents, randomUUID());
  };

  beforeAll(async () => {
    t = await createTestApp([BillingModule]);
    billing = t.app.get(BillingService);
    db = t.app.get<ModuleDb>(moduleDbToken('billing'));
  });
  afterEach(async () => expect(await billing.verifyLedger()).toMatchObject({ balanced: true, unbalancedEntries: [] }));
  afterAll(() => t.close());

  it('captures once per order: a repeat returns the first outcome and posts nothing', async () => {
    await account('ann', 1000);
    const orderId = randomUUID();
    const first = await saga.capturePayment({ orderId, customerId: 'ann', amountCents: 400 });
    expect(first).toEqual({ outcome: 'captured', entryId: expect.any(String), amountCents: 400 });
    expect(await saga.capturePayment({ orderId, customerId: 'ann', amountCents: 400 })).toEqual(first);
    expect(await entriesOf(orderId)).toEqual([{ id: (first as { entryId: string }).entryId, kind: 'CAPTURE', reverses_entry_id: null }]);
    expect(await billing.getAccount('ann')).toMatchObject({ balanceCents: 600 });
  });

  it('declines a capture the balance does not cover, posts nothing, and keeps declining that order', async () => {
    await account('ben', 300);
    const orderId = randomUUID();
    const declined = await saga.capturePayment({ orderId, customerId: 'ben', amountCents: 301 });
    expect(declined).toEqual({ outcome: 'declined', reason: 'INSUFFICIENT_FUNDS', detail: expect.stringContaining('1 short of the 301') });
    expect(await entriesOf(orderId)).toEqual([]);
    expect(await billing.getAccount('ben')).toMatchObject({ balanceCents: 300 });
    await billing.deposit('ben', 1000, randomUUID());
    expect(await saga.capturePayment({ orderId, customerId: 'ben', amountCents: 301 })).toEqual(declined);
    expect(await saga.capturePayment({ orderId: randomUUID(), customerId: 'ben', amountCents: 1300 })).toMatchObject({
      outcome: 'captured',
    });
    expect(await billing.getAccount('ben')).toMatchObject({ balanceCents: 0 });
  });

  it('declines NO_ACCOUNT for a customer without an account', async () => {
    const orderId = randomUUID();
    expect(await saga.capturePayment({ orderId, customerId: 'nobody', amountCents: 1 })).toEqual({
      outcome: 'declined',
      reason: 'NO_ACCOUNT',
      detail: expect.stringContaining('POST /billing/accounts'),
    });
    expect(await entriesOf(orderId)).toEqual([]);
  });

  it('refunds with an entry reversing the capture, restoring the balance; a repeat is a no-op', async () => {
    await account('cat', 1000);
    const orderId = randomUUID();
    const capture = await saga.capturePayment({ orderId, customerId: 'cat', amountCents: 750 });
    if (capture.outcome !== 'captured') throw new Error('expected a capture');
    const refund = await saga.refundPayment({ orderId, reason: 'OUT_OF_STOCK' });
    expect(refund).toEqual({ refundedCents: 750, entryId: expect.any(String) });
    expect(await saga.refundPayment({ orderId, reason: 'OUT_OF_STOCK' })).toEqual(refund);
    expect(await entriesOf(orderId)).toEqual([
      { id: capture.entryId, kind: 'CAPTURE', reverses_entry_id: null },
      { id: refund.entryId, kind: 'REFUND', reverses_entry_id: capture.entryId },
    ]);
    const postings = await db.query(`SELECT account_id, amount_cents FROM postings WHERE entry_id = $1 ORDER BY account_id`, [
      refund.entryId,
    ]);
    expect(postings).toEqual([
      { account_id: 'customer:cat', amount_cents: '-750' },
      { account_id: 'revenue', amount_cents: '750' },
    ]);
    expect(await billing.getAccount('cat')).toMatchObject({ balanceCents: 1000 });
    // The order is closed: capturing it again is refused, and takes nothing.
    expect(await saga.capturePayment({ orderId, customerId: 'cat', amountCents: 750 })).toMatchObject({
      outcome: 'declined',
      reason: 'CANCELLED',
    });
    expect(await billing.getAccount('cat')).toMatchObject({ balanceCents: 1000 });
  });

  it('a refund before any capture voids the order, so a late capture is declined CANCELLED', async () => {
    await account('dan', 1000);
    const orderId = randomUUID();
    expect(await saga.refundPayment({ orderId, reason: 'TIMED_OUT' })).toEqual({ refundedCents: 0, entryId: null });
    expect(await saga.refundPayment({ orderId, reason: 'TIMED_OUT' })).toEqual({ refundedCents: 0, entryId: null });
    expect(await saga.capturePayment({ orderId, customerId: 'dan', amountCents: 100 })).toEqual({
      outcome: 'declined',
      reason: 'CANCELLED',
      detail: expect.stringContaining('TIMED_OUT'),
    });
    expect(await entriesOf(orderId)).toEqual([]);
    expect(await billing.getAccount('dan')).toMatchObject({ balanceCents: 1000 });
  });

  it('refunding a declined payment gives nothing back', async () => {
    await account('eli', 0);
    const orderId = randomUUID();
    await saga.capturePayment({ orderId, customerId: 'eli', amountCents: 100 });
    expect(await saga.refundPayment({ orderId, reason: 'PAYMENT_DECLINED' })).toEqual({ refundedCents: 0, entryId: null });
    expect(await billing.getAccount('eli')).toMatchObject({ balanceCents: 0 });
  });

  it("joins the caller's transaction: rolled back with it, nothing stays", async () => {
    await account('fay', 500);
    const orderId = randomUUID();
    await expect(
      db.transaction(async (tx) => {
        expect(await billing.capturePayment(tx, { orderId, customerId: 'fay', amountCents: 500 })).toMatchObject({ outcome: 'captured' });
        throw new Error('the handler failed after capturing');
      }),
    ).rejects.toThrow('the handler failed');
    expect(await entriesOf(orderId)).toEqual([]);
    expect(await billing.getAccount('fay')).toMatchObject({ balanceCents: 500 });
    expect(await saga.capturePayment({ orderId, customerId: 'fay', amountCents: 500 })).toMatchObject({ outcome: 'captured' });
    expect(await billing.getAccount('fay')).toMatchObject({ balanceCents: 0 });
  });

  it('handles a capture and a refund of the same order racing: either the capture is refunded or it is cancelled', async () => {
    await account('gus', 10_000);
    const orders = Array.from({ length: 10 }, () => randomUUID());
    await Promise.all(
      orders.flatMap((orderId) => [
        saga.capturePayment({ orderId, customerId: 'gus', amountCents: 100 }),
        saga.capturePayment({ orderId, customerId: 'gus', amountCents: 100 }),
        saga.refundPayment({ orderId, reason: 'CUSTOMER_REQUEST' }),
      ]),
    );
    expect(await billing.getAccount('gus')).toMatchObject({ balanceCents: 10_000 });
    for (const orderId of orders) {
      const kinds = (await entriesOf(orderId)).map((e) => e.kind);
      expect([[], ['CAPTURE', 'REFUND']]).toContainEqual(kinds);
    }
  });
});
