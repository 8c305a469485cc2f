import { InvalidOrder } from './errors';
import { CapturePayment } from '@app/billing/contracts';
import { MAX_UNIT_PRICE_CENTS, StockReserved } from '@app/inventory/contracts';
import { MAX_ORDER_UNITS, MAX_QUANTITY, type NewOrder, orderLimitViolations } from './order';
import { placeOrder } from './saga';
import { ORDER_ID, Saga, T0, names, policy, unchanged } from './saga.test-kit';

describe('placing an order', () => {
  it('asks inventory to reserve every line, publishes OrderPlaced and schedules the reservation deadline', () => {
    const s = Saga.placed();
    expect(s.last.commands).toEqual([
      {
        name: 'ReserveStock',
        messageId: 'msg-1',
        payload: {
          orderId: ORDER_ID,
          lines: [
            { sku: 'MUG-1', quantity: 2 },
            { sku: 'TEA-3', quantity: 1 },
          ],
        },
      },
    ]);
    expect(s.last.events).toEqual([
      {
        name: 'OrderPlaced',
        payload: {
          orderId: ORDER_ID,
          customerId: 'cust-7',
          lines: [
            { sku: 'MUG-1', quantity: 2 },
            { sku: 'TEA-3', quantity: 1 },
          ],
        },
      },
    ]);
    expect(s.last.deadline).toEqual({ step: 'RESERVING', attempt: 1, delayMs: 5_000, startsAfter: 'msg-1', at: new Date(T0 + 5_000) });
    expect(s.view).toEqual({ status: 'PENDING', reason: null, totalCents: null, step: 'RESERVING', awaiting: ['ReserveStock'] });
    expect(s.history).toEqual([
      {
        at: '2026-03-01T10:00:00.000Z',
        event: 'Order placed',
        detail: 'Customer cust-7 ordered 2 × MUG-1 and 1 × TEA-3. Asking inventory to reserve the stock.',
      },
    ]);
  });

  it.each<[string, Partial<NewOrder>]>([
    ['no lines', { lines: [] }],
    ['101 lines', { lines: Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, quantity: 1 })) }],
    ['a zero quantity', { lines: [{ sku: 'A', quantity: 0 }] }],
    ['a fractional quantity', { lines: [{ sku: 'A', quantity: 1.5 }] }],
    ['a huge quantity', { lines: [{ sku: 'A', quantity: 1_000_001 }] }],
    ['an empty sku', { lines: [{ sku: '', quantity: 1 }] }],
    ['an empty customer', { customerId: '' }],
    [
      'two lines of one sku adding up to more than 1,000,000',
      {
        lines: [
          { sku: 'A', quantity: 999_999 },
          { sku: 'A', quantity: 2 },
        ],
      },
    ],
    ['more items than keep the total exact', { lines: Array.from({ length: 5 }, (_, i) => ({ sku: `S${i}`, quantity: 1_000_000 })) }],
  ])('refuses an order with %s', (_label, change) => {
    const order = { id: ORDER_ID, customerId: 'c', lines: [{ sku: 'A', quantity: 1 }], ...change };
    expect(() => placeOrder(order, new Saga().ctx())).toThrow(InvalidOrder);
  });
});

describe('order limits', () => {
  it('bound the total so that StockReserved and CapturePayment can carry it exactly, at any price inventory allows', () => {
    expect(MAX_ORDER_UNITS * MAX_UNIT_PRICE_CENTS).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    expect(StockReserved.schema.shape.totalCents.safeParse(MAX_ORDER_UNITS * MAX_UNIT_PRICE_CENTS).success).toBe(true);
    expect(CapturePayment.schema.shape.amountCents.safeParse(MAX_ORDER_UNITS * MAX_UNIT_PRICE_CENTS).success).toBe(true);
    expect(orderLimitViolations([{ sku: 'A', quantity: MAX_QUANTITY }])).toEqual([]);
  });
});

describe('the happy path', () => {
  it('reserves, captures, confirms and commits', () => {
    const s = Saga.placed();
    const reserved = s.reserved();
    expect(s.order.lines).toEqual([
      { sku: 'MUG-1', quantity: 2, unitPriceCents: 1_000 },
      { sku: 'TEA-3', quantity: 1, unitPriceCents: 500 },
    ]);
    expect(s.order.totalCents).toBe(2_500);
    expect(reserved.commands).toEqual([
      { name: 'CapturePayment', messageId: 'msg-2', payload: { orderId: ORDER_ID, customerId: 'cust-7', amountCents: 2_500 } },
    ]);
    expect(reserved.deadline).toEqual({ step: 'CAPTURING', attempt: 1, delayMs: 5_000, startsAfter: 'msg-2', at: new Date(T0 + 5_000) });

    const captured = s.captured();
    expect(s.view).toMatchObject({ status: 'CONFIRMED', step: 'COMMITTING', awaiting: ['CommitStock'] });
    expect(captured.commands).toEqual([{ name: 'CommitStock', messageId: 'msg-3', payload: { orderId: ORDER_ID } }]);
    expect(captured.events).toEqual([{ name: 'OrderConfirmed', payload: { orderId: ORDER_ID, customerId: 'cust-7', totalCents: 2_500 } }]);

    const committed = s.on({ type: 'StockCommitted' });
    expect(committed).toMatchObject({ changed: true, commands: [], events: [], deadline: null });
    expect(s.view).toEqual({ status: 'CONFIRMED', reason: null, totalCents: 2_500, step: 'DONE', awaiting: [] });
    expect(s.order.saga.deadlineAt).toBeNull();
    expect(s.history.map((h) => h.event)).toEqual([
      'Order placed',
      'Stock reserved',
      'Payment captured',
      'Order confirmed',
      'Stock committed',
    ]);
    expect(s.history[1].detail).toBe(
      "Inventory reserved 2 × MUG-1 at 1,000 cents and 1 × TEA-3 at 500 cents: 2,500 cents in total. Asking billing to take 2,500 cents from the customer's account.",
    );
    expect(s.history[2].detail).toBe(
      "2,500 cents were taken from the customer's account (ledger entry 0190a5e0-0000-7000-8000-00000000e001).",
    );
    expect(s.events).toEqual(['OrderPlaced', 'OrderConfirmed']);
  });

  it('prices lines that name the same sku twice (inventory answers per sku)', () => {
    const s = Saga.placed([
      { sku: 'A', quantity: 1 },
      { sku: 'A', quantity: 2 },
    ]);
    s.on({ type: 'StockReserved', lines: [{ sku: 'A', quantity: 3, unitPriceCents: 700 }], totalCents: 2_100 });
    expect(s.order.lines).toEqual([
      { sku: 'A', quantity: 1, unitPriceCents: 700 },
      { sku: 'A', quantity: 2, unitPriceCents: 700 },
    ]);
  });

  it('confirms a free order without asking billing, and reverses it without a refund', () => {
    const s = Saga.placed([{ sku: 'FREEBIE', quantity: 1 }]);
    const reserved = s.on({ type: 'StockReserved', lines: [{ sku: 'FREEBIE', quantity: 1, unitPriceCents: 0 }], totalCents: 0 });
    expect(names(reserved)).toEqual(['CommitStock']);
    expect(s.view).toMatchObject({ status: 'CONFIRMED', totalCents: 0 });
    s.on({ type: 'StockCommitted' });
    expect(names(s.on({ type: 'CancelRequested' }))).toEqual(['ReturnStock']);
    expect(s.history.at(-1)!.detail).toBe(
      'The customer asked to cancel the confirmed order. Nothing was paid; asking inventory to put the stock back on the shelf.',
    );
    s.on({ type: 'StockReturned' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST', step: 'DONE' });
  });
});

describe('failures', () => {
  it('cancels an order that is out of stock at once, naming every shortage; nothing to compensate', () => {
    const s = Saga.placed();
    const failed = s.on({
      type: 'StockReservationFailed',
      reason: 'OUT_OF_STOCK',
      shortages: [
        { sku: 'MUG-1', requested: 2, available: 1 },
        { sku: 'TEA-3', requested: 1, available: 0 },
      ],
    });
    expect(failed).toMatchObject({
      commands: [],
      deadline: null,
      events: [{ name: 'OrderCancelled', payload: { orderId: ORDER_ID, reason: 'OUT_OF_STOCK' } }],
    });
    expect(s.view).toEqual({ status: 'CANCELLED', reason: 'OUT_OF_STOCK', totalCents: null, step: 'DONE', awaiting: [] });
    expect(s.history.slice(1)).toEqual([
      {
        at: '2026-03-01T10:00:00.000Z',
        event: 'Out of stock',
        detail: 'Not enough stock of MUG-1 (2 wanted, 1 available) and TEA-3 (1 wanted, none available). Nothing was reserved or charged.',
      },
      {
        at: '2026-03-01T10:00:00.000Z',
        event: 'Order cancelled',
        detail:
          'The order is cancelled because some items are out of stock. Nothing is held for it: no stock is reserved and nothing was charged.',
      },
    ]);
  });

  it('releases the stock when the payment is declined, and stays PENDING until the release is acknowledged', () => {
    const s = Saga.placed();
    s.reserved();
    const declined = s.on({
      type: 'PaymentDeclined',
      reason: 'INSUFFICIENT_FUNDS',
      detail: 'the account balance (1,200 cents) is lower than the order total (2,500 cents)',
    });
    expect(declined.commands).toEqual([{ name: 'ReleaseStock', messageId: 'msg-3', payload: { orderId: ORDER_ID } }]);
    expect(declined.events).toEqual([]);
    expect(declined.deadline).toEqual({ step: 'COMPENSATING', attempt: 1, delayMs: 5_000, startsAfter: 'msg-3', at: new Date(T0 + 5_000) });
    expect(s.view).toMatchObject({ status: 'PENDING', reason: null, step: 'COMPENSATING', awaiting: ['ReleaseStock'] });
    expect(s.history.at(-1)).toMatchObject({
      event: 'Payment declined',
      detail:
        'Payment declined: the account balance (1,200 cents) is lower than the order total (2,500 cents). Nothing was charged. ' +
        'Asking inventory to give back the reserved stock before the order is cancelled.',
    });

    const released = s.on({ type: 'StockReleased' });
    expect(released.events).toEqual([{ name: 'OrderCancelled', payload: { orderId: ORDER_ID, reason: 'PAYMENT_DECLINED' } }]);
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED', step: 'DONE' });
    expect(s.history.slice(-2).map((h) => h.event)).toEqual(['Stock released', 'Order cancelled']);
    unchanged(s.on({ type: 'StockReleased' })); // a duplicate
  });

  it('words a decline without detail from its reason', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'NO_ACCOUNT', detail: '' });
    expect(s.history.at(-1)!.detail).toMatch(/^Payment declined: the customer has no account\. Nothing was charged\./);
  });
});

describe('deadlines', () => {
  it('re-sends the reservation under the same message id, then gives up and releases (TIMED_OUT)', () => {
    const s = Saga.placed();
    const second = s.deadline();
    expect(second.commands).toEqual([s.sent[0]]); // same id, same payload
    expect(second.deadline).toEqual({
      step: 'RESERVING',
      attempt: 2,
      delayMs: 5_000,
      startsAfter: s.sent[0].messageId,
      at: new Date(T0 + 10_000),
    });
    expect(s.history.at(-1)).toEqual({
      at: '2026-03-01T10:00:05.000Z',
      event: 'No answer yet',
      detail: 'Inventory has not answered the stock reservation in the 5 s since it received it; asked again (attempt 2).',
    });
    unchanged(s.on({ type: 'Deadline', step: 'RESERVING', attempt: 1 })); // an older attempt's deadline
    expect(s.deadline().commands).toEqual([s.sent[0]]);
    expect(s.order.saga.attempt).toBe(3);

    const gaveUp = s.deadline();
    expect(gaveUp.commands).toEqual([{ name: 'ReleaseStock', messageId: 'msg-2', payload: { orderId: ORDER_ID } }]);
    expect(s.view).toMatchObject({ status: 'PENDING', step: 'COMPENSATING', awaiting: ['ReleaseStock'] });
    expect(s.order.saga.cancelReason).toBe('TIMED_OUT');
    expect(s.history.at(-1)!.detail).toBe(
      'Inventory did not answer the stock reservation within its deadline of 15 s (3 attempts, counted from delivery). Cancelling the order: asking inventory to give back any stock it may have reserved.',
    );
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT', step: 'DONE' });
    expect(s.events).toEqual(['OrderPlaced', 'OrderCancelled']);
  });

  it('gives up on the payment after the last attempt: refunds (or voids) and releases, cancelled once both are acknowledged', () => {
    const s = Saga.placed();
    s.reserved();
    const captureId = s.sent[1].messageId;
    expect(s.deadline().commands.map((c) => c.messageId)).toEqual([captureId]);
    expect(s.history.at(-1)!.detail).toBe(
      'Billing has not answered the payment request in the 5 s since it received it; asked again (attempt 2).',
    );
    s.deadline();
    const gaveUp = s.deadline();
    expect(gaveUp.commands).toEqual([
      { name: 'RefundPayment', messageId: 'msg-3', payload: { orderId: ORDER_ID, reason: 'TIMED_OUT' } },
      { name: 'ReleaseStock', messageId: 'msg-4', payload: { orderId: ORDER_ID } },
    ]);
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'PENDING', awaiting: ['RefundPayment'] });
    s.on({ type: 'PaymentRefunded', refundedCents: 0, entryId: null });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT' });
    expect(s.history.slice(-3).map((h) => h.detail)).toEqual([
      'Inventory released the stock held for the order; it is available to other customers again.',
      'Billing confirmed that nothing had been charged, so there was nothing to refund. A payment arriving late will be refused.',
      'The order is cancelled because it could not be completed in time. Any stock reserved for it is back on the shelf and any payment taken was refunded.',
    ]);
  });

  it('ignores a deadline of a step the saga has left, and any deadline once nothing is awaited', () => {
    const s = Saga.placed();
    s.reserved();
    unchanged(s.on({ type: 'Deadline', step: 'RESERVING', attempt: 1 }));
    unchanged(s.on({ type: 'Deadline', step: 'CAPTURING', attempt: 2 })); // not yet reached
    unchanged(s.on({ type: 'Deadline', step: 'BOGUS', attempt: 1 }));
    s.captured();
    s.on({ type: 'StockCommitted' });
    unchanged(s.on({ type: 'Deadline', step: 'DONE', attempt: 0 }));
    unchanged(s.on({ type: 'Deadline', step: 'COMMITTING', attempt: 1 }));
  });

  it('never gives up a compensation: re-sends under the same ids with a doubling, capped delay, and notes only attempts 2, 4, 8, ...', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'CancelRequested' });
    const ids = s.last.commands.map((c) => c.messageId);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = s.deadline(); // the clock is now at the deadline that fired
      expect(d.commands.map((c) => c.messageId)).toEqual(ids);
      delays.push(d.deadline!.at.getTime() - s.now);
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000]);
    expect(s.view).toMatchObject({ status: 'PENDING', step: 'COMPENSATING' });
    expect(s.order.saga.attempt).toBe(11);
    const waits = s.history.filter((h) => h.event === 'Still waiting').map((h) => h.detail);
    expect(waits).toEqual(
      [2, 4, 8].map(
        (n) =>
          `Still waiting for billing to refund the payment and inventory to give back the reserved stock; asked again (attempt ${n}), waiting longer each time.`,
      ),
    );
  });

  it('re-sends the stock commit of a confirmed order until inventory acknowledges it', () => {
    const s = Saga.placed();
    s.reserved();
    s.captured();
    const commit = s.last.commands[0];
    for (let i = 0; i < 5; i++) expect(s.deadline().commands).toEqual([commit]);
    expect(s.view).toMatchObject({ status: 'CONFIRMED', step: 'COMMITTING' });
    s.on({ type: 'StockCommitted' });
    expect(s.view).toMatchObject({ status: 'CONFIRMED', step: 'DONE' });
  });

  it('uses the configured interval and deadline', () => {
    const s = Saga.placed(undefined, { ...policy, stepTimeoutMs: 20, reserveDeadlineMs: 20, maxRetryDelayMs: 50 });
    expect(s.last.deadline!.at).toEqual(new Date(T0 + 20));
    expect(names(s.deadline())).toEqual(['ReleaseStock']);
    expect(s.history.at(-1)!.detail).toMatch(/within its deadline of 20 ms \(1 attempt, counted from delivery\)/);
  });
});
