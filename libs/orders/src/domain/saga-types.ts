/** The vocabulary of the order saga (see saga.ts): its policy, inputs, outputs and the decision it returns. */
import type { CancelReason, HistoryEntry, Order, SagaStep } from './order';
import type * as say from './wording';

/**
 * How patient the saga is. Every wait is counted from the delivery of the command it waits on (the outbox starts
 * the deadline's timer only once the command was handed over to its transport), so time spent while a transport
 * is unreachable never counts.
 */
export interface SagaPolicy {
  /** How long a step waits for a reply before re-sending its commands (same message ids); the base of the back-off. */
  stepTimeoutMs: number;
  /** Patience of the stock reservation (RESERVING): past it, the order is compensated with TIMED_OUT. */
  reserveDeadlineMs: number;
  /** Patience of the payment capture (CAPTURING): past it, the order is compensated with TIMED_OUT. */
  paymentDeadlineMs: number;
  /** Patience of the whole order, its forward steps added up, until it is confirmed or given up. */
  orderDeadlineMs: number;
  /** Ceiling of the doubling delay between re-sends of a compensation (or of the stock commit). */
  maxRetryDelayMs: number;
  /** Sends of a compensation (the first included) before the order is parked for an operator's attention. */
  compensationAttempts: number;
}

export interface SagaContext {
  now: Date;
  /** A fresh message id (the application passes UUIDv7). */
  newId: () => string;
  policy: SagaPolicy;
}

export type SagaInput =
  | { type: 'StockReserved'; lines: { sku: string; quantity: number; unitPriceCents: number }[]; totalCents: number }
  | { type: 'StockReservationFailed'; reason: 'OUT_OF_STOCK' | 'RELEASED'; shortages: say.Shortage[] }
  | { type: 'PaymentCaptured'; amountCents: number; entryId: string }
  | { type: 'PaymentDeclined'; reason: say.DeclineReason; detail: string }
  | { type: 'StockReleased' }
  | { type: 'StockCommitted' }
  | { type: 'StockReturned' }
  | { type: 'PaymentRefunded'; refundedCents: number; entryId: string | null }
  | { type: 'Deadline'; step: string; attempt: number }
  | { type: 'CancelRequested' }
  /** An operator resumes a parked order (POST /admin/orders/:id/retry, `orders retry`). */
  | { type: 'RetryRequested'; by: string };

/** A command to another module. Payloads match the contracts in @app/inventory/contracts and @app/billing/contracts. */
export type SagaCommand =
  | { name: 'ReserveStock'; messageId: string; payload: { orderId: string; lines: { sku: string; quantity: number }[] } }
  | { name: 'CapturePayment'; messageId: string; payload: { orderId: string; customerId: string; amountCents: number } }
  | { name: 'RefundPayment'; messageId: string; payload: { orderId: string; reason: string } }
  | { name: 'CommitStock' | 'ReleaseStock' | 'ReturnStock'; messageId: string; payload: { orderId: string } };

/** An event orders publishes (see ../contracts). */
export type OrderEvent =
  | { name: 'OrderPlaced'; payload: { orderId: string; customerId: string; lines: { sku: string; quantity: number }[] } }
  | { name: 'OrderConfirmed'; payload: { orderId: string; customerId: string; totalCents: number } }
  | { name: 'OrderCancelled'; payload: { orderId: string; reason: CancelReason } };

/**
 * "Tell me `delayMs` after `startsAfter` was delivered if step `step`, attempt `attempt`, is still waiting."
 * `startsAfter` is the message id of the step's last command: the commands of an order share its ordering key,
 * so once the last one is handed over, every earlier one (and every earlier copy) is too.
 */
export interface StepDeadline {
  step: SagaStep;
  attempt: number;
  delayMs: number;
  startsAfter: string;
  /** The earliest the deadline can fire (if the command were delivered at once). */
  at: Date;
}

export interface Decision {
  order: Order;
  /** False when the input did not apply: nothing to save, nothing to send. */
  changed: boolean;
  /** In the order to send them. */
  commands: SagaCommand[];
  events: OrderEvent[];
  deadline: StepDeadline | null;
  /** Entries to append to the order's history. */
  history: HistoryEntry[];
}

export const FORWARD_STEPS: readonly SagaStep[] = ['RESERVING', 'CAPTURING'];
