import { InvalidOrder } from './errors';
import { CapturePayment } from '@app/billing/contracts';
import { MAX_UNIT_PRICE_CENTS, StockReserved } from '@app/inventory/contracts';
import {
  type HistoryEntry,
  MAX_ORDER_UNITS,
  MAX_QUANTITY,
  type NewOrder,
  type Order,
  type SagaCommandName,
  orderLimitViolations,
} from './order';
import { type Decision, type SagaCommand, type SagaInput, type SagaPolicy, decide, placeOrder } from './saga';

const ORDER_ID = '0190a5e0-0000-7000-8000-000000000001';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
/** 3 sends of a forward step, 5 s apart (counted from delivery); compensations practically never parked. */
const policy: SagaPolicy = {
  stepTimeoutMs: 5_000,
  reserveDeadlineMs: 15_000,
  paymentDeadlineMs: 15_000,
  orderDeadlineMs: 900_000,
  maxRetryDelayMs: 60_000,
  compensationAttempts: 1_000,
};

/** Drives one order through the pure saga, keeping the whole history and every message sent. */
class Saga {
  order!: Order;
  last!: Decision;
  readonly history: HistoryEntry[] = [];
  readonly sent: SagaCommand[] = [];
  readonly events: string[] = [];
  now = T0;
  private ids = 0;

  static placed(
    lines = [
      { sku: 'MUG-1', quantity: 2 },
      { sku: 'TEA-3', quantity: 1 },
    ],
    p: SagaPolicy = policy,
  ): Saga {
    const s = new Saga(p);
    s.record(placeOrder({ id: ORDER_ID, customerId: 'cust-7', lines }, s.ctx()));
    return s;
  }

  constructor(private readonly p: SagaPolicy = policy) {}

  ctx() {
    return { now: new Date(this.now), newId: () => `msg-${++this.ids}`, policy: this.p };
  }

  on(input: SagaInput): Decision {
    return this.record(decide(this.order, input, this.ctx()));
  }

  /** The deadline the saga is waiting for fires now. */
  deadline(): Decision {
    const { step, attempt, deadlineAt } = this.order.saga;
    if (deadlineAt) this.now = Date.parse(deadlineAt);
    return this.on({ type: 'Deadline', step, attempt });
  }

  reserved(prices: Record<string, number> = { 'MUG-1': 1_000, 'TEA-3': 500 }): Decision {
    const lines = this.order.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: prices[l.sku] }));
    return this.on({ type: 'StockReserved', lines, totalCents: lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0) });
  }

  captured(): Decision {
    return this.on({ type: 'PaymentCaptured', amountCents: this.order.totalCents!, entryId: '0190a5e0-0000-7000-8000-00000000e001' });
  }

  get view() {
    const { status, reason, totalCents } = this.order;
    const { step, awaiting } = this.order.saga;
    return { status, reason, totalCents, step, awaiting };
  }

  private record(d: Decision): Decision {
    this.order = d.order;
    this.last = d;
    this.history.push(...d.history);
    this.sent.push(...d.commands);
    this.events.push(...d.events.map((e) => e.name));
    return d;
  }
}

const names = (d: Decision) => d.commands.map((c) => c.name);
const unchanged = (d: Decision) => expect(d).toMatchObject({ changed: false, commands: [], events: [], deadline: null, history: [] });

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

describe('customer cancel', () => {
  it('while reserving: releases, then CANCELLED CUSTOMER_REQUEST', () => {
    const s = Saga.placed();
    expect(s.on({ type: 'CancelRequested' }).commands).toEqual([
      { name: 'ReleaseStock', messageId: 'msg-2', payload: { orderId: ORDER_ID } },
    ]);
    expect(s.view).toMatchObject({ status: 'PENDING', step: 'COMPENSATING' });
    expect(s.history.at(-1)).toMatchObject({ event: 'Cancellation requested' });
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
    expect(s.last.events).toEqual([{ name: 'OrderCancelled', payload: { orderId: ORDER_ID, reason: 'CUSTOMER_REQUEST' } }]);
  });

  it('while capturing: refunds and releases; the acknowledgements may come in any order', () => {
    const s = Saga.placed();
    s.reserved();
    expect(s.on({ type: 'CancelRequested' }).commands).toEqual([
      { name: 'RefundPayment', messageId: 'msg-3', payload: { orderId: ORDER_ID, reason: 'CUSTOMER_REQUEST' } },
      { name: 'ReleaseStock', messageId: 'msg-4', payload: { orderId: ORDER_ID } },
    ]);
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: '0190a5e0-0000-7000-8000-00000000e002' });
    expect(s.view).toMatchObject({ status: 'PENDING', awaiting: ['ReleaseStock'] });
    expect(s.history.at(-1)!.detail).toBe(
      "2,500 cents were refunded to the customer's account (ledger entry 0190a5e0-0000-7000-8000-00000000e002).",
    );
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
  });

  it('while a compensation is under way: a no-op, and the first reason wins', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'too little' });
    unchanged(s.on({ type: 'CancelRequested' }));
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
  });

  it('twice, or of a cancelled order: a no-op', () => {
    const s = Saga.placed();
    s.on({ type: 'CancelRequested' });
    unchanged(s.on({ type: 'CancelRequested' }));
    s.on({ type: 'StockReleased' });
    unchanged(s.on({ type: 'CancelRequested' }));
    expect(s.events).toEqual(['OrderPlaced', 'OrderCancelled']);
  });

  it('of a confirmed order: refunds and returns the stock; CONFIRMED until both are acknowledged', () => {
    const s = Saga.placed();
    s.reserved();
    s.captured();
    s.on({ type: 'StockCommitted' });
    const cancel = s.on({ type: 'CancelRequested' });
    expect(cancel.commands).toEqual([
      { name: 'RefundPayment', messageId: 'msg-4', payload: { orderId: ORDER_ID, reason: 'CUSTOMER_REQUEST' } },
      { name: 'ReturnStock', messageId: 'msg-5', payload: { orderId: ORDER_ID } },
    ]);
    expect(cancel.deadline).toMatchObject({ step: 'REVERSING', attempt: 1 });
    expect(s.history.at(-1)!.detail).toBe(
      'The customer asked to cancel the confirmed order. Asking billing to refund the 2,500 cents paid, and inventory to put the stock back on the shelf.',
    );
    unchanged(s.on({ type: 'CancelRequested' }));
    s.on({ type: 'StockReturned' });
    expect(s.view).toMatchObject({ status: 'CONFIRMED', step: 'REVERSING', awaiting: ['RefundPayment'] });
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: '0190a5e0-0000-7000-8000-00000000e003' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST', step: 'DONE' });
    expect(s.events).toEqual(['OrderPlaced', 'OrderConfirmed', 'OrderCancelled']);
  });

  it('of a confirmed order whose commit is not acknowledged yet: keeps the commit (same id) ahead of the return', () => {
    const s = Saga.placed();
    s.reserved();
    s.captured();
    const commitId = s.last.commands[0].messageId;
    expect(s.on({ type: 'CancelRequested' }).commands.map((c) => [c.name, c.messageId])).toEqual([
      ['CommitStock', commitId],
      ['RefundPayment', 'msg-4'],
      ['ReturnStock', 'msg-5'],
    ]);
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    s.on({ type: 'StockReturned' }); // returned stock was committed first: the commit is implied
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST', step: 'DONE' });
    unchanged(s.on({ type: 'StockCommitted' })); // its late reply changes nothing
  });
});

describe('late, repeated and reordered replies', () => {
  it('a reservation that arrives after the timeout started releasing: noted, covered by the release already sent', () => {
    const s = Saga.placed();
    s.deadline();
    s.deadline();
    s.deadline();
    const late = s.reserved();
    expect(late).toMatchObject({ changed: true, commands: [], events: [] });
    expect(s.history.at(-1)).toMatchObject({ event: 'Stock reserved late' });
    expect(s.view).toMatchObject({ status: 'PENDING', totalCents: null, step: 'COMPENSATING', awaiting: ['ReleaseStock'] });
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT' });
    unchanged(s.reserved()); // redelivered once more after the end
    unchanged(s.on({ type: 'StockReservationFailed', reason: 'RELEASED', shortages: [] }));
  });

  it('a repeat of the reservation while its release is under way (after a decline): changes nothing', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' });
    unchanged(s.reserved());
    unchanged(s.on({ type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [] }));
  });

  it('a capture that arrives after the refund was sent: noted, covered by the refund; a late "cancelled" decline too', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'CancelRequested' });
    const late = s.captured();
    expect(late.commands).toEqual([]);
    expect(s.history.at(-1)).toMatchObject({
      event: 'Payment taken late',
      detail: 'Billing took 2,500 cents after the order had started cancelling. The refund already requested gives it back.',
    });
    s.on({ type: 'PaymentDeclined', reason: 'CANCELLED', detail: 'voided' });
    expect(s.history.at(-1)).toMatchObject({ event: 'Payment refused late' });
    expect(s.view).toMatchObject({ status: 'PENDING', awaiting: ['RefundPayment', 'ReleaseStock'] });
    s.on({ type: 'StockReleased' });
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
    unchanged(s.captured());
  });

  it('an out-of-stock answer after the timeout: noted; the reason stays TIMED_OUT', () => {
    const s = Saga.placed();
    s.deadline();
    s.deadline();
    s.deadline();
    s.on({ type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [{ sku: 'MUG-1', requested: 2, available: 0 }] });
    expect(s.history.at(-1)!.detail).toBe(
      'Inventory answered late: not enough stock of MUG-1 (2 wanted, none available). Nothing was reserved or charged. The cancellation already under way continues.',
    );
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT' });
  });

  it('stock reserved after an out-of-stock cancel: sends a release (and re-sends it) until acknowledged; stays CANCELLED', () => {
    const s = Saga.placed();
    s.on({ type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [] });
    const cleanup = s.reserved();
    expect(cleanup.commands).toEqual([{ name: 'ReleaseStock', messageId: 'msg-2', payload: { orderId: ORDER_ID } }]);
    expect(cleanup.events).toEqual([]);
    expect(cleanup.deadline).toMatchObject({ step: 'CLEANUP', attempt: 1 });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK', totalCents: null, step: 'CLEANUP' });
    expect(s.deadline().commands).toEqual(cleanup.commands);
    unchanged(s.reserved()); // the release is under way
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', step: 'DONE' });
    expect(s.events).toEqual(['OrderPlaced', 'OrderCancelled']);
  });

  it('a capture reported after a decline: the refund joins the compensation, which completes only with both replies', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' });
    const refund = s.captured();
    expect(refund.commands).toEqual([
      { name: 'RefundPayment', messageId: 'msg-4', payload: { orderId: ORDER_ID, reason: 'PAYMENT_DECLINED' } },
    ]);
    expect(s.view).toMatchObject({ status: 'PENDING', awaiting: ['ReleaseStock', 'RefundPayment'] });
    expect(s.deadline().commands.map((c) => c.name)).toEqual(['ReleaseStock', 'RefundPayment']);
    s.on({ type: 'StockReleased' });
    expect(s.view.status).toBe('PENDING');
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
  });

  it('a capture reported after a declined order was cancelled: a cleanup refund', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' });
    s.on({ type: 'StockReleased' });
    expect(names(s.captured())).toEqual(['RefundPayment']);
    expect(s.view).toMatchObject({ status: 'CANCELLED', step: 'CLEANUP' });
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    expect(s.view).toMatchObject({ status: 'CANCELLED', step: 'DONE' });
  });

  it('repeats of replies already applied change nothing', () => {
    const s = Saga.placed();
    s.reserved();
    unchanged(s.reserved());
    s.captured();
    unchanged(s.reserved());
    unchanged(s.captured());
    unchanged(s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' }));
    s.on({ type: 'StockCommitted' });
    unchanged(s.on({ type: 'StockCommitted' }));
    expect(s.events).toEqual(['OrderPlaced', 'OrderConfirmed']);
  });

  it('replies to commands never sent change nothing', () => {
    const s = Saga.placed();
    for (const input of [
      { type: 'StockReleased' },
      { type: 'StockReturned' },
      { type: 'StockCommitted' },
      { type: 'PaymentRefunded', refundedCents: 0, entryId: null },
      { type: 'PaymentCaptured', amountCents: 1, entryId: 'x' },
      { type: 'PaymentDeclined', reason: 'NO_ACCOUNT', detail: '' },
    ] as SagaInput[]) {
      unchanged(s.on(input));
    }
    s.reserved();
    unchanged(s.on({ type: 'StockReleased' }));
    unchanged(s.on({ type: 'PaymentRefunded', refundedCents: 0, entryId: null }));
  });

  it('a "released" refusal while reserving is noted and left to the deadline, which cancels after a release', () => {
    const s = Saga.placed();
    s.on({ type: 'StockReservationFailed', reason: 'RELEASED', shortages: [] });
    expect(s.view).toMatchObject({ status: 'PENDING', step: 'RESERVING' });
    expect(s.history.at(-1)).toMatchObject({ event: 'Reservation refused' });
    s.deadline();
    s.deadline();
    expect(names(s.deadline())).toEqual(['ReleaseStock']);
  });

  it('never changes the order it was given', () => {
    const s = Saga.placed();
    const before = structuredClone(s.order);
    decide(s.order, { type: 'CancelRequested' }, s.ctx());
    expect(s.order).toEqual(before);
  });
});

/**
 * A simulation of inventory and billing as their contracts describe them: each handles a message id once
 * (its inbox), handles an order's messages in the order sent, and replies. Deadlines fire at random moments,
 * replies are sometimes delivered twice, the customer sometimes cancels. After every step the invariants must
 * hold, and in the end every order must be CONFIRMED or CANCELLED with nothing outstanding.
 */
describe('invariants under random interleavings', () => {
  type Reservation = 'NONE' | 'RESERVED' | 'RELEASED' | 'COMMITTED' | 'RETURNED';
  type Payment = 'NONE' | 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';

  function mulberry32(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function simulate(seed: number) {
    const random = mulberry32(seed);
    const chance = (p: number) => random() < p;
    const inStock = chance(0.8);
    const canPay = chance(0.7);
    const impatience = [0.1, 0.3, 0.9][Math.floor(random() * 3)]; // how eagerly deadlines fire: slow receivers make timeouts
    const s = Saga.placed([{ sku: 'A', quantity: 1 }], {
      ...policy,
      stepTimeoutMs: 10,
      reserveDeadlineMs: 30,
      paymentDeadlineMs: 30,
      maxRetryDelayMs: 40,
    });
    let reservation: Reservation = 'NONE';
    let payment: Payment = 'NONE';
    const seen = new Set<string>();
    const errors: string[] = [];
    const toInventory: SagaCommand[] = [];
    const toBilling: SagaCommand[] = [];
    const fromInventory: SagaInput[] = [];
    const fromBilling: SagaInput[] = [];
    const deadlines: SagaInput[] = [];
    let cancels = chance(0.4) ? 1 + Math.floor(random() * 2) : 0;

    const route = (d: Decision) => {
      for (const c of d.commands) (c.name === 'CapturePayment' || c.name === 'RefundPayment' ? toBilling : toInventory).push(c);
      if (d.deadline) deadlines.push({ type: 'Deadline', step: d.deadline.step, attempt: d.deadline.attempt });
    };
    const inventory = (c: SagaCommand): SagaInput | null => {
      const fail = (why: string) => (errors.push(`${c.name} on ${reservation}: ${why}`), null);
      switch (c.name) {
        case 'ReserveStock':
          if (reservation === 'RELEASED') return { type: 'StockReservationFailed', reason: 'RELEASED', shortages: [] };
          if (reservation === 'NONE' && !inStock)
            return { type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [{ sku: 'A', requested: 1, available: 0 }] };
          if (reservation === 'NONE') reservation = 'RESERVED';
          return { type: 'StockReserved', lines: [{ sku: 'A', quantity: 1, unitPriceCents: 900 }], totalCents: 900 };
        case 'ReleaseStock':
          if (reservation === 'COMMITTED' || reservation === 'RETURNED') return fail('cannot release committed stock');
          reservation = 'RELEASED';
          return { type: 'StockReleased' };
        case 'CommitStock':
          if (reservation !== 'RESERVED' && reservation !== 'COMMITTED') return fail('nothing reserved to commit');
          reservation = 'COMMITTED';
          return { type: 'StockCommitted' };
        case 'ReturnStock':
          if (reservation !== 'COMMITTED' && reservation !== 'RETURNED') return fail('nothing committed to return');
          reservation = 'RETURNED';
          return { type: 'StockReturned' };
        default:
          return fail('not an inventory command');
      }
    };
    const billing = (c: SagaCommand): SagaInput => {
      if (c.name === 'CapturePayment') {
        if (payment === 'REFUNDED' || payment === 'VOIDED') return { type: 'PaymentDeclined', reason: 'CANCELLED', detail: 'voided' };
        if (payment === 'NONE') payment = canPay ? 'CAPTURED' : 'DECLINED';
        return payment === 'CAPTURED'
          ? { type: 'PaymentCaptured', amountCents: c.payload.amountCents, entryId: 'e1' }
          : { type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'balance too low' };
      }
      const refunded = payment === 'CAPTURED' || payment === 'REFUNDED' ? 900 : 0;
      payment = payment === 'CAPTURED' || payment === 'REFUNDED' ? 'REFUNDED' : 'VOIDED';
      return { type: 'PaymentRefunded', refundedCents: refunded, entryId: refunded ? 'e2' : null };
    };
    const deliver = (queue: SagaCommand[], handle: (c: SagaCommand) => SagaInput | null, replies: SagaInput[]) => {
      const c = queue.shift()!;
      if (seen.has(c.messageId)) return; // the inbox drops a repeat of a message it handled
      seen.add(c.messageId);
      const reply = handle(c);
      if (reply) replies.push(reply);
    };
    const receive = (queue: SagaInput[]) => {
      const reply = queue.shift()!;
      if (chance(0.15)) queue.push(reply); // delivered again later (at least once)
      route(s.on(reply));
    };
    // plain checks (jest's expect on every step would dominate the run time); a failure names the seed and the state
    const violated = (what: string) => {
      throw new Error(
        `seed ${seed}: ${what} (reservation ${reservation}, payment ${payment}, order ${JSON.stringify(s.order)}, events ${s.events.join(', ')})`,
      );
    };
    const checkInvariants = () => {
      const { status, saga } = s.order;
      if (
        status === 'CANCELLED' &&
        saga.step === 'DONE' &&
        (reservation === 'RESERVED' || reservation === 'COMMITTED' || payment === 'CAPTURED')
      ) {
        violated('a CANCELLED order holds stock or money');
      }
      if (status === 'CONFIRMED' && saga.step === 'DONE' && (reservation !== 'COMMITTED' || payment !== 'CAPTURED')) {
        violated('a CONFIRMED order does not hold exactly its captured payment and committed stock');
      }
      const count = (name: string) => s.events.filter((e) => e === name).length;
      if (count('OrderCancelled') > 1 || count('OrderConfirmed') > 1) violated('an outcome was published twice');
      if (status === 'CANCELLED' && s.events.at(-1) !== 'OrderCancelled') violated('a CANCELLED order did not publish OrderCancelled last');
      if (errors.length > 0) violated(`a command was refused: ${errors.join('; ')}`);
    };

    route(s.last);
    for (let step = 0; step < 5_000; step++) {
      const actions: (() => void)[] = [];
      if (toInventory.length) actions.push(() => deliver(toInventory, inventory, fromInventory));
      if (toBilling.length) actions.push(() => deliver(toBilling, billing, fromBilling));
      if (fromInventory.length) actions.push(() => receive(fromInventory));
      if (fromBilling.length) actions.push(() => receive(fromBilling));
      if (deadlines.length && chance(impatience)) {
        actions.push(() => {
          const i = Math.floor(random() * deadlines.length);
          const [deadline] = deadlines.splice(i, 1);
          route(s.on(deadline));
        });
      }
      if (cancels > 0 && chance(0.1)) actions.push(() => (cancels--, route(s.on({ type: 'CancelRequested' }))));
      if (actions.length === 0) {
        if (deadlines.length === 0) break;
        const deadline = deadlines.shift()!;
        route(s.on(deadline));
      } else {
        actions[Math.floor(random() * actions.length)]();
      }
      checkInvariants();
    }
    return { s, reservation, payment, inStock, canPay };
  }

  it('holds for 1,000 random runs; each ends CONFIRMED or CANCELLED with nothing outstanding', () => {
    const outcomes = new Map<string, number>();
    for (let seed = 1; seed <= 1_000; seed++) {
      const { s } = simulate(seed);
      expect({ seed, status: s.order.status === 'PENDING' ? 'PENDING' : 'ended', step: s.order.saga.step }).toEqual({
        seed,
        status: 'ended',
        step: 'DONE',
      });
      const key = `${s.order.status} ${s.order.reason ?? ''}`.trim();
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    // every ending was reached, so the runs exercised every path
    expect([...outcomes.keys()].sort()).toEqual(
      ['CANCELLED CUSTOMER_REQUEST', 'CANCELLED OUT_OF_STOCK', 'CANCELLED PAYMENT_DECLINED', 'CANCELLED TIMED_OUT', 'CONFIRMED'].sort(),
    );
  });

  it('keeps one message id per command across every re-send', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { s } = simulate(seed);
      const idsByName = new Map<SagaCommandName, Set<string>>();
      for (const c of s.sent) idsByName.set(c.name, (idsByName.get(c.name) ?? new Set()).add(c.messageId));
      for (const ids of idsByName.values()) expect(ids.size).toBe(1);
    }
  });
});
