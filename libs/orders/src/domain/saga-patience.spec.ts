import type { Order } from './order';
import { type Decision, type SagaInput, type SagaPolicy, decide, placeOrder } from './saga';

const ORDER_ID = '0190a5e0-0000-7000-8000-0000000000aa';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const DEFAULTS: SagaPolicy = {
  stepTimeoutMs: 5_000,
  reserveDeadlineMs: 120_000,
  paymentDeadlineMs: 300_000,
  orderDeadlineMs: 900_000,
  maxRetryDelayMs: 60_000,
  compensationAttempts: 20,
};

/** One order through the pure saga; `fire()` delivers the pending deadline `afterDeliveryMs` after its command was delivered. */
class Run {
  order: Order;
  last: Decision;
  now = T0;
  private ids = 0;

  constructor(private readonly policy: SagaPolicy = DEFAULTS) {
    this.last = placeOrder({ id: ORDER_ID, customerId: 'cust-1', lines: [{ sku: 'A', quantity: 1 }] }, this.ctx());
    this.order = this.last.order;
  }

  ctx() {
    return { now: new Date(this.now), newId: () => `msg-${++this.ids}`, policy: this.policy };
  }

  on(input: SagaInput): Decision {
    this.last = decide(this.order, input, this.ctx());
    this.order = this.last.order;
    return this.last;
  }

  /** The transport was away `undeliveredMs` before the command went out; the deadline then ran its delay. */
  fire(undeliveredMs = 0): Decision {
    const { step, attempt, deadlineDelayMs } = this.order.saga;
    this.now += undeliveredMs + (deadlineDelayMs ?? 0);
    return this.on({ type: 'Deadline', step, attempt });
  }

  reserved(): Decision {
    return this.on({ type: 'StockReserved', lines: [{ sku: 'A', quantity: 1, unitPriceCents: 100 }], totalCents: 100 });
  }

  get gaveUp(): boolean {
    return this.order.saga.cancelReason === 'TIMED_OUT';
  }
}

describe('patience counted from delivery', () => {
  it('gives up the reservation when its 2-minute deadline passes, re-sending every 5 s until then', () => {
    const r = new Run();
    let sends = 1;
    while (!r.gaveUp) if (r.fire().commands.some((c) => c.name === 'ReserveStock')) sends++;
    expect(sends).toBe(24); // 120 s of waiting after delivery, one send per 5 s
    expect(r.order.saga.stepWaitedMs).toBe(120_000);
    expect(r.order.saga.step).toBe('COMPENSATING');
    expect(r.last.commands.map((c) => c.name)).toEqual(['ReleaseStock']);
  });

  it('trims the last wait to the deadline, so a deadline that is no multiple of the interval is kept exactly', () => {
    const r = new Run({ ...DEFAULTS, reserveDeadlineMs: 12_000 });
    expect(r.fire().deadline?.delayMs).toBe(5_000);
    expect(r.fire().deadline?.delayMs).toBe(2_000);
    r.fire();
    expect(r.gaveUp).toBe(true);
    expect(r.order.saga.stepWaitedMs).toBe(12_000);
  });

  it('does not count time while the command waits for an unreachable transport: an hour away times nothing out', () => {
    const r = new Run();
    const decision = r.fire(3_600_000); // Redis away for an hour, then the copy went out and 5 s passed
    expect(r.gaveUp).toBe(false);
    expect(decision.commands.map((c) => c.name)).toEqual(['ReserveStock']);
    expect(r.order.saga.stepWaitedMs).toBe(5_000);
    // every deadline starts after the step's command: the outbox runs it only once that command was handed over
    expect(decision.deadline).toMatchObject({ startsAfter: decision.commands[0].messageId, delayMs: 5_000 });
  });

  it("gives up the payment when the order's deadline passes first, and says which one", () => {
    const r = new Run({ ...DEFAULTS, reserveDeadlineMs: 100_000, orderDeadlineMs: 110_000 });
    for (let i = 0; i < 10; i++) r.fire(); // 50 s of the order's patience spent reserving
    r.reserved();
    expect(r.order.saga.step).toBe('CAPTURING');
    while (!r.gaveUp) r.fire();
    expect(r.order.saga.orderWaitedMs).toBe(110_000);
    expect(r.order.saga.stepWaitedMs).toBe(60_000);
    expect(r.last.history.at(-1)?.detail).toMatch(
      /^Billing did not answer the payment request before the order's deadline of 1\.8 min passed\./,
    );
  });

  it('counts one interval for a deadline of an order saved before the count was kept', () => {
    const r = new Run({ ...DEFAULTS, reserveDeadlineMs: 10_000 });
    delete r.order.saga.deadlineDelayMs;
    delete r.order.saga.stepWaitedMs;
    delete r.order.saga.orderWaitedMs;
    r.fire();
    expect(r.order.saga.stepWaitedMs).toBe(5_000);
    r.fire();
    expect(r.gaveUp).toBe(true);
  });
});

describe('compensations that give up', () => {
  const policy = { ...DEFAULTS, compensationAttempts: 4 };

  function compensating(): Run {
    const r = new Run(policy);
    r.on({ type: 'CancelRequested' });
    expect(r.order.saga.step).toBe('COMPENSATING');
    return r;
  }

  it('backs off (doubling up to the ceiling), then parks the order for attention: no more sends, no deadline', () => {
    const r = compensating();
    const delays = [r.last.deadline!.delayMs];
    for (let i = 0; i < 3; i++) delays.push(r.fire().deadline!.delayMs);
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000]);
    const parked = r.fire();
    expect(parked.commands).toEqual([]);
    expect(parked.deadline).toBeNull();
    expect(r.order.saga.attention).toEqual({
      reason: 'No answer from inventory to give back the reserved stock after 4 attempts',
      since: new Date(r.now).toISOString(),
      step: 'COMPENSATING',
    });
    expect(r.order.saga.deadlineAt).toBeNull();
    expect(r.order.status).toBe('PENDING');
    expect(parked.history.map((h) => h.event)).toEqual(['Needs attention']);
    // a stray deadline changes nothing while parked
    expect(r.on({ type: 'Deadline', step: 'COMPENSATING', attempt: 4 }).changed).toBe(false);
  });

  it('resumes on an operator retry: same message ids, back-off from the start, attention cleared', () => {
    const r = compensating();
    const releaseId = r.last.commands[0].messageId;
    for (let i = 0; i < 4; i++) r.fire();
    expect(r.order.saga.attention).toBeTruthy();
    const retried = r.on({ type: 'RetryRequested', by: 'An operator (admin token)' });
    expect(retried.commands).toEqual([{ name: 'ReleaseStock', messageId: releaseId, payload: { orderId: ORDER_ID } }]);
    expect(retried.deadline).toMatchObject({ step: 'COMPENSATING', attempt: 1, delayMs: 5_000, startsAfter: releaseId });
    expect(r.order.saga.attention).toBeNull();
    expect(retried.history[0]).toMatchObject({ event: 'Retry requested' });
    r.on({ type: 'StockReleased' });
    expect(r.order).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
  });

  it('a retry of an order that is not parked changes nothing', () => {
    const r = compensating();
    expect(r.on({ type: 'RetryRequested', by: 'someone' }).changed).toBe(false);
  });

  it('a late reply completes a parked order', () => {
    const r = compensating();
    for (let i = 0; i < 4; i++) r.fire();
    r.on({ type: 'StockReleased' });
    expect(r.order).toMatchObject({ status: 'CANCELLED' });
    expect(r.order.saga.attention).toBeNull();
  });

  it('parks the stock commit of a confirmed order too; a customer cancel then starts the reversal afresh', () => {
    const r = new Run(policy);
    r.reserved();
    r.on({ type: 'PaymentCaptured', amountCents: 100, entryId: '0190a5e0-0000-7000-8000-00000000e001' });
    for (let i = 0; i < 4; i++) r.fire();
    expect(r.order.saga.attention?.step).toBe('COMMITTING');
    expect(r.order.status).toBe('CONFIRMED');
    const cancel = r.on({ type: 'CancelRequested' });
    expect(cancel.commands.map((c) => c.name)).toEqual(['CommitStock', 'RefundPayment', 'ReturnStock']);
    expect(r.order.saga.attention).toBeNull();
    expect(r.order.saga.cancelRequestedAt).toBe(new Date(r.now).toISOString());
  });
});
