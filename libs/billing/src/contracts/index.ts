/**
 * Messages billing accepts and publishes: its API for other modules. This file imports nothing but
 * zod, and a published type name never changes meaning (publish a .v2 beside it instead).
 * Every message is keyed by the order id.
 */
import { z } from 'zod';

const OrderId = z.uuid();
const CustomerId = z.string().min(1).max(64);
const Cents = z.number().int().positive();

/** Command: take the order's total from the customer's account. Replied to with PaymentCaptured or PaymentDeclined. */
export const CapturePayment = {
  type: 'billing.capture-payment.v1',
  schema: z.object({ orderId: OrderId, customerId: CustomerId, amountCents: Cents }),
} as const;

/** Reply: the amount was moved from the customer's account by ledger entry `entryId`. */
export const PaymentCaptured = {
  type: 'billing.payment-captured.v1',
  schema: z.object({ orderId: OrderId, customerId: CustomerId, amountCents: Cents, entryId: z.uuid() }),
} as const;

/** Reply: nothing was taken. CANCELLED means the payment had been voided before the capture arrived. */
export const PaymentDeclined = {
  type: 'billing.payment-declined.v1',
  schema: z.object({ orderId: OrderId, reason: z.enum(['INSUFFICIENT_FUNDS', 'NO_ACCOUNT', 'CANCELLED']), detail: z.string().max(500) }),
} as const;

/**
 * Command (compensation): undo any capture for the order with a reversing ledger entry, and refuse a
 * capture that arrives later. Safe whether or not a capture happened.
 */
export const RefundPayment = {
  type: 'billing.refund-payment.v1',
  schema: z.object({ orderId: OrderId, reason: z.string().min(1).max(100) }),
} as const;

/** Reply: the order's payment is refunded (refundedCents 0 when nothing had been captured). */
export const PaymentRefunded = {
  type: 'billing.payment-refunded.v1',
  schema: z.object({ orderId: OrderId, refundedCents: z.number().int().nonnegative(), entryId: z.uuid().nullable() }),
} as const;

/**
 * The messages billing handles. A host that runs billing elsewhere sends it exactly these (nothing else crosses
 * over to it), and billing refuses to start when its handlers and this list disagree.
 */
export const billingConsumes: readonly string[] = [CapturePayment.type, RefundPayment.type];
