import { InjectModuleDataSource, InjectOutbox, Outbox, bindOutbox, runIdempotent, type StoredResponse } from '@app/platform';
import { Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
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
    @InjectModuleDataSource('orders') private readonly db: DataSource,
    @InjectOutbox('orders') private readonly outbox: Outbox,
    private readonly orders: OrdersService,
  ) {}

  place(idempotencyKey: string, order: { customerId: string; lines: NewOrder['lines'] }): Promise<StoredResponse<OrderAccepted>> {
    return runIdempotent(this.db, { scope: 'orders.place', key: idempotencyKey, request: order }, async (em) => {
      const outcome = await this.orders.placeOrder(em, { orderId: uuidv7(), ...order });
      await publishStep(outcome, bindOutbox(this.outbox, em));
      return { status: 202, body: { id: outcome.order.id, status: outcome.order.status } };
    });
  }

  cancel(idempotencyKey: string, orderId: string): Promise<StoredResponse<OrderAccepted>> {
    return runIdempotent(this.db, { scope: 'orders.cancel', key: idempotencyKey, request: { orderId } }, async (em) => {
      const outcome = await this.orders.requestCancel(em, orderId);
      await publishStep(outcome, bindOutbox(this.outbox, em));
      return { status: 202, body: { id: orderId, status: outcome.order.status } };
    });
  }
}
