/** The driver of the pure saga's unit tests (saga*.spec.ts): one order, its whole history and every message sent. */
import type { HistoryEntry, Order } from './order';
import { type Decision, type SagaCommand, type SagaInput, type SagaPolicy, decide, placeOrder } from './saga';

export const ORDER_ID = '0190a5e0-0000-7000-8000-000000000001';
export const T0 = Date.parse('2026-03-01T10:00:00.000Z');
/** 3 sends of a forward step, 5 s apart (counted from delivery); compensations practically never parked. */
export const policy: SagaPolicy = {
  stepTimeoutMs: 5_000,
  reserveDeadlineMs: 15_000,
  paymentDeadlineMs: 15_000,
  orderDeadlineMs: 900_000,
  maxRetryDelayMs: 60_000,
  compensationAttempts: 1_000,
};

/** Drives one order through the pure saga, keeping the whole history and every message sent. */
export class Saga {
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

export const names = (d: Decision) => d.commands.map((c) => c.name);
export const unchanged = (d: Decision) =>
  expect(d).toMatchObject({ changed: false, commands: [], events: [], deadline: null, history: [] });
