import { PaymentCaptured, PaymentDeclined, PaymentRefunded } from '@app/billing/contracts';
import { StockCommitted, StockReleased, StockReservationFailed, StockReserved, StockReturned } from '@app/inventory/contracts';
import { HandleMessage, type MessageContext, MessageConsumer, type PayloadOf } from '@app/platform';
import { Injectable } from '@nestjs/common';
import { OrderStepDeadline } from '../contracts';
import { publishStep } from './messages';
import { OrdersService, type SagaOutcome } from './orders.service';

/**
 * The replies and timers that move the order saga on. Each runs in one orders transaction together with its
 * inbox row; the saga's next messages go out through orders' outbox in that same transaction.
 */
@MessageConsumer('orders')
@Injectable()
export class OrdersHandlers {
  constructor(private readonly orders: OrdersService) {}

  @HandleMessage(StockReserved)
  onStockReserved(p: PayloadOf<typeof StockReserved>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onStockReserved(ctx.tx, p));
  }

  @HandleMessage(StockReservationFailed)
  onStockReservationFailed(p: PayloadOf<typeof StockReservationFailed>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onStockReservationFailed(ctx.tx, p));
  }

  @HandleMessage(PaymentCaptured)
  onPaymentCaptured(p: PayloadOf<typeof PaymentCaptured>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onPaymentCaptured(ctx.tx, p));
  }

  @HandleMessage(PaymentDeclined)
  onPaymentDeclined(p: PayloadOf<typeof PaymentDeclined>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onPaymentDeclined(ctx.tx, p));
  }

  @HandleMessage(StockReleased)
  onStockReleased(p: PayloadOf<typeof StockReleased>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onStockReleased(ctx.tx, p));
  }

  @HandleMessage(StockCommitted)
  onStockCommitted(p: PayloadOf<typeof StockCommitted>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onStockCommitted(ctx.tx, p));
  }

  @HandleMessage(PaymentRefunded)
  onPaymentRefunded(p: PayloadOf<typeof PaymentRefunded>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onPaymentRefunded(ctx.tx, p));
  }

  @HandleMessage(StockReturned)
  onStockReturned(p: PayloadOf<typeof StockReturned>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onStockReturned(ctx.tx, p));
  }

  @HandleMessage(OrderStepDeadline)
  onDeadline(p: PayloadOf<typeof OrderStepDeadline>, ctx: MessageContext): Promise<void> {
    return send(ctx, this.orders.onDeadline(ctx.tx, p));
  }
}

async function send(ctx: MessageContext, step: Promise<SagaOutcome>): Promise<void> {
  await publishStep(await step, ctx.outbox);
}
