import { DatabaseModule, MessagingModule } from '@app/platform';
import { type DynamicModule, Module } from '@nestjs/common';
import { OrderRequests } from './application/order-requests';
import { OrdersHandlers } from './application/orders.handlers';
import { OrdersService } from './application/orders.service';
import { ORDER_SAGA_POLICY, type SagaPolicyOptions, sagaPolicy } from './application/saga-policy';
import { OrdersAdminController } from './http/orders-admin.controller';
import { SagaMetrics } from './application/saga-metrics';
import { OrdersController } from './http/orders.controller';
import { ordersDatabase } from './persistence';
import { CapturePayment, RefundPayment } from '@app/billing/contracts';
import { CommitStock, ReleaseStock, ReserveStock, ReturnStock } from '@app/inventory/contracts';
import { OrderCancelled, OrderConfirmed, OrderPlaced, OrderStepDeadline, ordersConsumes } from './contracts';

export interface OrdersModuleOptions {
  /** The saga's patience; anything left out keeps its production default (DEFAULT_SAGA_POLICY). */
  saga?: SagaPolicyOptions;
}

/** The messages orders publishes (its outbox refuses any other) and consumes (checked against its handlers). */
const ordersMessages = {
  publishes: [
    OrderPlaced,
    OrderConfirmed,
    OrderCancelled,
    OrderStepDeadline,
    ReserveStock,
    ReleaseStock,
    CommitStock,
    ReturnStock,
    CapturePayment,
    RefundPayment,
  ],
  consumes: ordersConsumes,
};

/** Orders: orders, their saga (reserve stock → capture payment → confirm, or compensate) and their history. Owns the `orders` schema. */
@Module({
  imports: [DatabaseModule.forModule(ordersDatabase), MessagingModule.forModule('orders', ordersMessages)],
  controllers: [OrdersController, OrdersAdminController],
  providers: [OrdersService, OrderRequests, OrdersHandlers, SagaMetrics],
})
export class OrdersModule {
  /** OrdersModule with other saga timing (e.g. milliseconds in tests). Import either this or plain `OrdersModule`. */
  static forRoot(options: OrdersModuleOptions = {}): DynamicModule {
    return { module: OrdersModule, providers: [{ provide: ORDER_SAGA_POLICY, useValue: sagaPolicy(options.saga) }] };
  }
}
