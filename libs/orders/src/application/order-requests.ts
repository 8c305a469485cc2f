import { bindOutbox, Idempotency, InjectModuleDb, InjectOutbox, type ModuleDb, newId, Outbox, type StoredResponse } from '@app/platform';
import { Injectable } from '@nestjs/common';
import { OrderNotParked } from '../domain/errors';
import type { NewOrder } from '../domain/order';
import { publishStep } from './messages';
import { OrdersService } from './orders.service';

export interface OrderAccepted {
  id: string;
  status: 'PENDING' | 'CONFIRMED' | 'CANCELLED';
}

/**
 * What customers ask for over HTTP: place an order, cancel it. Each request runs once per Idempotency-Key,
 * and the saga's first messages are written to the outbox in the request's own transaction.
 */
@Injectable()
export class OrderRequests {
  constructor(
    @InjectModuleDb('orders') private readonly db: ModuleDb,
    @InjectOutbox('orders') private readonly outbox: Outbox,
    private readonly orders: OrdersService,
    private readonly idempotency: Idempotency,
  ) {}

  /** `principal`: whose Idempotency-Key it is (keyOwner); unset, the shared anonymous namespace. */
  place(
    idempotencyKey: string,
    order: { customerId: string; lines: NewOrder['lines'] },
    principal?: string,
  ): Promise<StoredResponse<OrderAccepted>> {
    return this.idempotency.run(this.db, { scope: 'orders.place', key: idempotencyKey, request: order, principal }, async (tx) => {
      const outcome = this.orders.placeOrder(tx, { orderId: newId(), ...order });
      await publishStep(outcome, bindOutbox(this.outbox, tx));
      return { status: 202, body: { id: outcome.order.id, status: outcome.order.status } };
    });
  }

  cancel(idempotencyKey: string, orderId: string, principal?: string): Promise<StoredResponse<OrderAccepted>> {
    return this.idempotency.run(this.db, { scope: 'orders.cancel', key: idempotencyKey, request: { orderId }, principal }, async (tx) => {
      const outcome = await this.orders.requestCancel(tx, orderId);
      await publishStep(outcome, bindOutbox(this.outbox, tx));
      return { status: 202, body: { id: orderId, status: outcome.order.status } };
    });
  }

  /**
   * An operator resumes a parked order: its unanswered compensations go out again (same message ids).
   * Repeating it is harmless: once resumed, the order is no longer parked and a second retry is refused.
   * @throws UnknownOrder, OrderNotParked
   */
  retry(orderId: string, by: string): Promise<OrderAccepted> {
    return this.db.transaction(async (tx) => {
      const outcome = await this.orders.retry(tx, orderId, by);
      if (!outcome.changed) throw new OrderNotParked(orderId);
      await publishStep(outcome, bindOutbox(this.outbox, tx));
      return { id: orderId, status: outcome.order.status };
    });
  }
}
