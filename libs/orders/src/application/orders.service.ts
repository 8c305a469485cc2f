import type { PaymentCaptured, PaymentDeclined, PaymentRefunded } from '@app/billing/contracts';
import type { StockCommitted, StockReleased, StockReservationFailed, StockReserved, StockReturned } from '@app/inventory/contracts';
import { InjectModuleDataSource } from '@app/platform';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { z } from 'zod';
import type { OrderStepDeadline } from '../contracts';
import { OrderAlreadyExists, UnknownOrder } from '../domain/errors';
import type { CancelReason, HistoryEntry, NewOrder, Order, OrderLine, OrderStatus } from '../domain/order';
import * as saga from '../domain/saga';
import { OrderHistoryRecord } from '../persistence/order-history.record';
import { OrderRecord } from '../persistence/order.record';
import { type OutgoingMessage, messagesOf } from './messages';
import { ORDER_SAGA_POLICY, sagaPolicy } from './saga-policy';

type Payload<C extends { schema: z.ZodType }> = z.output<C['schema']>;

/** What GET /orders/:id shows. */
export interface OrderView {
  id: string;
  customerId: string;
  status: OrderStatus;
  /** Null until inventory has priced the lines. */
  totalCents: number | null;
  lines: OrderLine[];
  /** Only when CANCELLED. */
  reason?: CancelReason;
  history: HistoryEntry[];
}

/** What a saga use case did, and what to send in the same transaction. */
export interface SagaOutcome {
  /** The order after the step (the saga bookkeeping included). */
  order: Order;
  /** False when the input did not apply (a repeat, a late reply, a stale deadline): nothing was written, `messages` is empty. */
  changed: boolean;
  /** Commands, events and the next step deadline, in the order to add them to the outbox. */
  messages: OutgoingMessage[];
}

/**
 * Orders' use cases. The saga steps run in the caller's transaction (`em`, of the orders DataSource): each
 * locks the order row (SELECT ... FOR UPDATE), applies the pure saga, saves, and returns the messages to
 * add to the outbox in that same transaction, so state and messages commit or roll back together.
 */
@Injectable()
export class OrdersService {
  private readonly policy: saga.SagaPolicy;

  constructor(
    @InjectModuleDataSource('orders') private readonly db: DataSource,
    @Optional() @Inject(ORDER_SAGA_POLICY) policy?: saga.SagaPolicy,
  ) {
    this.policy = policy ?? sagaPolicy();
  }

  /** @throws UnknownOrder */
  async getOrder(id: string): Promise<OrderView> {
    // one snapshot, so the history never runs ahead of the status it explains
    return this.db.transaction('REPEATABLE READ', async (em) => {
      const order = await em.getRepository(OrderRecord).findOneBy({ id });
      if (!order) throw new UnknownOrder(id);
      const history = await em.getRepository(OrderHistoryRecord).find({ where: { orderId: id }, order: { seq: 'ASC' } });
      return {
        id: order.id,
        customerId: order.customerId,
        status: order.status,
        totalCents: order.totalCents,
        lines: order.lines,
        ...(order.reason ? { reason: order.reason } : {}),
        history: history.map((h) => ({ at: h.at.toISOString(), event: h.event, detail: h.detail })),
      };
    });
  }

  /** Starts an order's saga. @throws InvalidOrder, OrderAlreadyExists */
  async placeOrder(em: EntityManager, input: { orderId: string; customerId: string; lines: NewOrder['lines'] }): Promise<SagaOutcome> {
    const decision = saga.placeOrder({ id: input.orderId, customerId: input.customerId, lines: input.lines }, this.context());
    const o = decision.order;
    const inserted = await em
      .createQueryBuilder()
      .insert()
      .into(OrderRecord)
      .values({
        id: o.id,
        customerId: o.customerId,
        status: o.status,
        reason: o.reason,
        totalCents: o.totalCents,
        lines: o.lines,
        saga: o.saga,
        version: 1,
      })
      .orIgnore()
      .returning('id')
      .execute();
    if ((inserted.raw as unknown[]).length === 0) throw new OrderAlreadyExists(o.id);
    await this.appendHistory(em, o.id, decision.history);
    return { order: o, changed: true, messages: messagesOf(decision) };
  }

  onStockReserved(em: EntityManager, p: Payload<typeof StockReserved>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'StockReserved', lines: p.lines, totalCents: p.totalCents });
  }

  onStockReservationFailed(em: EntityManager, p: Payload<typeof StockReservationFailed>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'StockReservationFailed', reason: p.reason, shortages: p.shortages });
  }

  onPaymentCaptured(em: EntityManager, p: Payload<typeof PaymentCaptured>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'PaymentCaptured', amountCents: p.amountCents, entryId: p.entryId });
  }

  onPaymentDeclined(em: EntityManager, p: Payload<typeof PaymentDeclined>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'PaymentDeclined', reason: p.reason, detail: p.detail });
  }

  onStockReleased(em: EntityManager, p: Payload<typeof StockReleased>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'StockReleased' });
  }

  /** Ends the commit step; history only for the customer (the order is CONFIRMED already). */
  onStockCommitted(em: EntityManager, p: Payload<typeof StockCommitted>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'StockCommitted' });
  }

  onPaymentRefunded(em: EntityManager, p: Payload<typeof PaymentRefunded>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'PaymentRefunded', refundedCents: p.refundedCents, entryId: p.entryId });
  }

  onStockReturned(em: EntityManager, p: Payload<typeof StockReturned>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'StockReturned' });
  }

  /** Orders' own timer fired. Stale deadlines (the step moved on) come back with changed: false. */
  onDeadline(em: EntityManager, p: Payload<typeof OrderStepDeadline>): Promise<SagaOutcome> {
    return this.step(em, p.orderId, { type: 'Deadline', step: p.step, attempt: p.attempt });
  }

  /** The customer wants out. A no-op (changed: false) if the order is cancelled or a cancellation is under way. */
  requestCancel(em: EntityManager, orderId: string): Promise<SagaOutcome> {
    return this.step(em, orderId, { type: 'CancelRequested' });
  }

  /** @throws UnknownOrder */
  private async step(em: EntityManager, orderId: string, input: saga.SagaInput): Promise<SagaOutcome> {
    // pessimistic_write needs a transaction: TypeORM refuses it on a bare manager, which is what we want here
    const record = await em.getRepository(OrderRecord).findOne({ where: { id: orderId }, lock: { mode: 'pessimistic_write' } });
    if (!record) throw new UnknownOrder(orderId);
    const decision = saga.decide(toOrder(record), input, this.context());
    if (!decision.changed) return { order: decision.order, changed: false, messages: [] };
    const o = decision.order;
    await em
      .getRepository(OrderRecord)
      .update(
        { id: orderId },
        { status: o.status, reason: o.reason, totalCents: o.totalCents, lines: o.lines, saga: o.saga, version: () => 'version + 1' },
      );
    await this.appendHistory(em, orderId, decision.history);
    return { order: o, changed: true, messages: messagesOf(decision) };
  }

  /** Appends entries after the order's last one. The caller holds the order row's lock, so seq cannot race. */
  private async appendHistory(em: EntityManager, orderId: string, entries: HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await em.query(
      `INSERT INTO order_history (order_id, seq, at, event, detail)
       SELECT $1, last.seq + e.ord, e.at, e.event, e.detail
         FROM (SELECT coalesce(max(seq), 0) AS seq FROM order_history WHERE order_id = $1) last,
              unnest($2::timestamptz[], $3::text[], $4::text[]) WITH ORDINALITY AS e(at, event, detail, ord)`,
      [orderId, entries.map((e) => e.at), entries.map((e) => e.event), entries.map((e) => e.detail)],
    );
  }

  private context(): saga.SagaContext {
    return { now: new Date(), newId: uuidv7, policy: this.policy };
  }
}

function toOrder(r: OrderRecord): Order {
  return { id: r.id, customerId: r.customerId, lines: r.lines, totalCents: r.totalCents, status: r.status, reason: r.reason, saga: r.saga };
}
