/**
 * Messages orders publishes: its API for other modules. This file imports nothing but zod and other modules' contracts, and a
 * published type name never changes meaning (publish a .v2 beside it instead).
 */
import { PaymentCaptured, PaymentDeclined, PaymentRefunded } from '@app/billing/contracts';
import { StockCommitted, StockReleased, StockReservationFailed, StockReserved, StockReturned } from '@app/inventory/contracts';
import { z } from 'zod';

const OrderId = z.uuid();
const Line = z.object({ sku: z.string().min(1).max(64), quantity: z.number().int().positive() });

/** Event: an order was accepted and its saga started. */
export const OrderPlaced = {
  type: 'orders.order-placed.v1',
  schema: z.object({ orderId: OrderId, customerId: z.string().min(1).max(64), lines: z.array(Line).min(1) }),
} as const;

/** Event: stock is reserved, payment captured, the order is confirmed. */
export const OrderConfirmed = {
  type: 'orders.order-confirmed.v1',
  schema: z.object({ orderId: OrderId, customerId: z.string().min(1).max(64), totalCents: z.number().int().nonnegative() }),
} as const;

/** Event: the order ended cancelled; every compensation has completed. */
export const OrderCancelled = {
  type: 'orders.order-cancelled.v1',
  schema: z.object({ orderId: OrderId, reason: z.enum(['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMED_OUT', 'CUSTOMER_REQUEST']) }),
} as const;

/** Orders' own timer: a saga step's reply did not come in time. Sent to itself with a delivery delay. */
export const OrderStepDeadline = {
  type: 'orders.step-deadline.v1',
  schema: z.object({ orderId: OrderId, step: z.string().min(1).max(40), attempt: z.number().int().positive() }),
} as const;

/**
 * The messages orders handles: the replies of inventory and billing, and its own timer. A host that runs orders
 * elsewhere sends it exactly these, and orders refuses to start when its handlers and this list disagree.
 */
export const ordersConsumes: readonly string[] = [
  StockReserved.type,
  StockReservationFailed.type,
  StockReleased.type,
  StockCommitted.type,
  StockReturned.type,
  PaymentCaptured.type,
  PaymentDeclined.type,
  PaymentRefunded.type,
  OrderStepDeadline.type,
];
