import type { PaymentCaptured, PaymentDeclined, PaymentRefunded } from '@app/billing/contracts';
import type { StockCommitted, StockReleased, StockReservationFailed, StockReserved, StockReturned } from '@app/inventory/contracts';
import { InjectModuleDb, type ModuleDb, newId, type Tx } from '@app/platform';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { z } from 'zod';
import type { OrderStepDeadline } from '../contracts';
import { UnknownOrder } from '../domain/errors';
import type { Attention, HistoryEntry, NewOrder, Order, OrderStatus, SagaCommandName } from '../domain/order';
import * as saga from '../domain/saga';
import { type HistoryRow, type OrderRow, OrdersSql as Sql, toOrder, type UndeliveredRow } from '../persistence';
import { SagaMetrics } from './saga-metrics';
import { type OutgoingMessage, messagesOf } from './messages';
import { awaitedMessageIds, orderView, type OrderView } from './order-view';

export type { OrderView } from './order-view';
import { ORDER_SAGA_POLICY, sagaPolicy } from './saga-policy';

type Payload<C extends { schema: z.ZodType }> = z.output<C['schema']>;

/** An order parked for attention, as the admin listing shows it. */
export interface ParkedOrder {
  id: string;
  customerId: string;
  status: OrderStatus;
  awaiting: SagaCommandName[];
  attention: Attention;
}

/** What a saga use case did, and what to send in the same transaction. */
export interface SagaOutcome {
  /** The order after the step (the saga bookkeeping included). */
  order: Order;
  /** False when the input did not apply (a repeat, a late reply, a stale deadline): nothing was written, `messages` is empty. */
  changed: boolean;
  /** Commands, events and the next step deadline, in the order to add them to the outbox. */
  messages: OutgoingMessage[];
  /** The order was just placed (nothing was scheduled for it before). */
  placed?: boolean;
}

/**
 * Orders' use cases. The saga steps run in the caller's transaction (`tx`, of the orders database): each locks the
 * order row (SELECT ... FOR UPDATE), applies the pure saga, saves, and returns the messages to add to the outbox in
 * that same transaction, so state and messages commit or roll back together.
 */
@Injectable()
export class OrdersService {
  private readonly policy: saga.SagaPolicy;

  constructor(
    @InjectModuleDb('orders') private readonly db: ModuleDb,
    @Optional() @Inject(ORDER_SAGA_POLICY) policy?: saga.SagaPolicy,
    @Optional() private readonly sagaMetrics?: SagaMetrics,
  ) {
    this.policy = policy ?? sagaPolicy();
  }

  /** @throws UnknownOrder */
  async getOrder(id: string): Promise<OrderView> {
    // one snapshot, so the history never runs ahead of the status it explains
    return this.db.transaction(
      async (tx) => {
        const found = tx.query<OrderRow>(Sql.order, [id]);
        const history = tx.query<HistoryRow>(Sql.history, [id]);
        const [[row], entries] = await Promise.all([found, history]);
        if (!row) throw new UnknownOrder(id);
        const order = toOrder(row);
        const ids = awaitedMessageIds(order);
        const undelivered = ids.length > 0 ? await tx.query<UndeliveredRow>(Sql.undelivered, [ids]) : [];
        return orderView(order, entries, undelivered, new Date(), this.policy.stepTimeoutMs);
      },
      { readOnlySnapshot: true },
    );
  }

  /** Starts an order's saga (the order id is new: a UUIDv7 made by the caller). @throws InvalidOrder */
  placeOrder(tx: Tx, input: { orderId: string; customerId: string; lines: NewOrder['lines'] }): SagaOutcome {
    const decision = saga.placeOrder({ id: input.orderId, customerId: input.customerId, lines: input.lines }, this.context());
    const o = decision.order;
    tx.execute(Sql.insertOrder, [o.id, o.customerId, o.status, o.reason, o.totalCents, JSON.stringify(o.lines), JSON.stringify(o.saga)]);
    appendHistory(tx, o.id, decision.history);
    return { order: o, changed: true, placed: true, messages: messagesOf(decision) };
  }

  onStockReserved(tx: Tx, p: Payload<typeof StockReserved>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'StockReserved', lines: p.lines, totalCents: p.totalCents });
  }

  onStockReservationFailed(tx: Tx, p: Payload<typeof StockReservationFailed>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'StockReservationFailed', reason: p.reason, shortages: p.shortages });
  }

  onPaymentCaptured(tx: Tx, p: Payload<typeof PaymentCaptured>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'PaymentCaptured', amountCents: p.amountCents, entryId: p.entryId });
  }

  onPaymentDeclined(tx: Tx, p: Payload<typeof PaymentDeclined>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'PaymentDeclined', reason: p.reason, detail: p.detail });
  }

  onStockReleased(tx: Tx, p: Payload<typeof StockReleased>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'StockReleased' });
  }

  /** Ends the commit step; history only for the customer (the order is CONFIRMED already). */
  onStockCommitted(tx: Tx, p: Payload<typeof StockCommitted>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'StockCommitted' });
  }

  onPaymentRefunded(tx: Tx, p: Payload<typeof PaymentRefunded>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'PaymentRefunded', refundedCents: p.refundedCents, entryId: p.entryId });
  }

  onStockReturned(tx: Tx, p: Payload<typeof StockReturned>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'StockReturned' });
  }

  /** Orders' own timer fired. Stale deadlines (the step moved on) come back with changed: false. */
  onDeadline(tx: Tx, p: Payload<typeof OrderStepDeadline>): Promise<SagaOutcome> {
    return this.step(tx, p.orderId, { type: 'Deadline', step: p.step, attempt: p.attempt });
  }

  /** An operator resumes a parked order (its compensation had stopped re-sending). A no-op (changed: false) if it is not parked. */
  retry(tx: Tx, orderId: string, by: string): Promise<SagaOutcome> {
    return this.step(tx, orderId, { type: 'RetryRequested', by });
  }

  /** Orders parked for attention, oldest first. */
  async needingAttention(limit: number): Promise<ParkedOrder[]> {
    const rows = await this.db.query<OrderRow>(Sql.needingAttention, [limit]);
    return rows
      .map(toOrder)
      .map((o) => ({ id: o.id, customerId: o.customerId, status: o.status, awaiting: o.saga.awaiting, attention: o.saga.attention! }));
  }

  /** The customer wants out. A no-op (changed: false) if the order is cancelled or a cancellation is under way. */
  requestCancel(tx: Tx, orderId: string): Promise<SagaOutcome> {
    return this.step(tx, orderId, { type: 'CancelRequested' });
  }

  /** @throws UnknownOrder */
  private async step(tx: Tx, orderId: string, input: saga.SagaInput): Promise<SagaOutcome> {
    const [row] = await tx.query<OrderRow>(Sql.lockOrder, [orderId]);
    if (!row) throw new UnknownOrder(orderId);
    const decision = saga.decide(toOrder(row), input, this.context());
    if (!decision.changed) return { order: decision.order, changed: false, messages: [] };
    const o = decision.order;
    tx.execute(Sql.updateOrder, [orderId, o.status, o.reason, o.totalCents, JSON.stringify(o.lines), JSON.stringify(o.saga)]);
    appendHistory(tx, orderId, decision.history);
    if (o.status !== row.status) tx.afterCommit(() => this.sagaMetrics?.stepped(row.status, o));
    return { order: o, changed: true, messages: messagesOf(decision) };
  }

  private context(): saga.SagaContext {
    return { now: new Date(), newId, policy: this.policy };
  }
}

function appendHistory(tx: Tx, orderId: string, entries: HistoryEntry[]): void {
  if (entries.length === 0) return;
  tx.execute(Sql.appendHistory, [orderId, entries.map((e) => e.at), entries.map((e) => e.event), entries.map((e) => e.detail)]);
}
