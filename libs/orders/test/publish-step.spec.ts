import { randomUUID } from 'node:crypto';
import { deadlineKey, type OutgoingMessage, type SagaOutbox, messagesOf, publishStep } from '../src/application/messages';
import { sagaPolicy } from '../src/application/saga-policy';
import type { Order } from '../src/domain/order';
import { type Decision, type SagaInput, decide, placeOrder } from '../src/domain/saga';

/** What publishStep asked of the outbox, in order. */
class RecordingOutbox implements SagaOutbox {
  readonly calls: string[] = [];
  add(contract: OutgoingMessage['contract']): Promise<unknown> {
    this.calls.push(`add ${contract.type}`);
    return Promise.resolve();
  }
  withdrawScheduled(key: string): Promise<number> {
    this.calls.push(`withdraw ${key}`);
    return Promise.resolve(0);
  }
}

describe('publishStep: a step that moves on withdraws its deadline; one that keeps waiting keeps it', () => {
  const ctx = { now: new Date('2026-11-26T10:00:00Z'), newId: randomUUID, policy: sagaPolicy({ stepTimeoutMs: 5_000 }) };
  const outcome = (d: Decision) => ({ changed: d.changed, order: d.order, messages: messagesOf(d) });
  const publish = async (d: Decision) => {
    const outbox = new RecordingOutbox();
    await publishStep(outcome(d), outbox);
    return outbox.calls;
  };
  let order: Order;
  const step = async (input: SagaInput) => {
    const d = decide(order, input, ctx);
    order = d.order;
    return publish(d);
  };

  it('follows the happy path, withdrawing each step deadline as the next step begins or the saga ends', async () => {
    const placed = placeOrder({ id: randomUUID(), customerId: 'c', lines: [{ sku: 'MUG', quantity: 1 }] }, ctx);
    order = placed.order;
    const key = deadlineKey(order.id);
    expect(await publish(placed)).toEqual([
      `withdraw ${key}`,
      'add orders.order-placed.v1',
      'add inventory.reserve-stock.v1',
      'add orders.step-deadline.v1',
    ]);
    // A refusal that contradicts the saga's state is noted, and the saga keeps waiting under its RESERVING deadline.
    expect(await step({ type: 'StockReservationFailed', reason: 'RELEASED', shortages: [] })).toEqual([]);
    expect(order.saga.deadlineAt).not.toBeNull();

    expect(await step({ type: 'StockReserved', lines: [{ sku: 'MUG', quantity: 1, unitPriceCents: 100 }], totalCents: 100 })).toEqual([
      `withdraw ${key}`,
      'add billing.capture-payment.v1',
      'add orders.step-deadline.v1',
    ]);
    expect(await step({ type: 'PaymentCaptured', amountCents: 100, entryId: randomUUID() })).toEqual([
      `withdraw ${key}`,
      'add orders.order-confirmed.v1',
      'add inventory.commit-stock.v1',
      'add orders.step-deadline.v1',
    ]);
    expect(await step({ type: 'StockCommitted' })).toEqual([`withdraw ${key}`]); // DONE: no timer is needed any more
    expect(await step({ type: 'StockCommitted' })).toEqual([]); // a repeat changes nothing, so nothing is written
  });
});
