/**
 * The order saga as a pure state machine: `decide(order, input, ctx)` returns the next state, the commands
 * and events to send, the deadline to schedule and the history to append. No I/O; time and message ids come
 * in through `ctx`.
 *
 *   place ─► RESERVING ──StockReserved──► CAPTURING ──PaymentCaptured──► CONFIRMED/COMMITTING ──StockCommitted──► CONFIRMED/DONE
 *               │  └─OUT_OF_STOCK─► CANCELLED            │  └─PaymentDeclined─► COMPENSATING [ReleaseStock]
 *               └─timeout/cancel─► COMPENSATING          └─timeout/cancel─► COMPENSATING [RefundPayment, ReleaseStock]
 *                                  [ReleaseStock]
 *   COMPENSATING ──every awaited reply──► CANCELLED (the reason that started the compensation)
 *   CONFIRMED ──cancel──► REVERSING [CommitStock if still awaited, RefundPayment if paid, ReturnStock]
 *             ──every awaited reply──► CANCELLED CUSTOMER_REQUEST
 *
 * Rules that keep the invariants (CANCELLED holds nothing; CONFIRMED holds its payment and committed stock):
 * - Each command is sent at most once per order, under one message id kept in `saga.messageIds`; every
 *   re-send reuses it, so the receiver's inbox sees a repeat, never a second request (and re-emits its reply).
 * - Every step that waits has a deadline `{step, attempt}` whose timer starts when the step's last command was
 *   delivered (saga-patience.ts). Only the deadline of the current step and attempt counts; older ones are ignored.
 *   RESERVING and CAPTURING give up when their own deadline or the order's passes and compensate with TIMED_OUT.
 *   Compensations (and the stock commit) never give up on their own: an order must not be left holding stock or
 *   money. They are re-sent with a doubling back-off and, after `compensationAttempts` sends, the order is parked
 *   for attention (`saga.attention`) until an operator retries or a late reply lands (saga-deadlines.ts).
 * - The order stays PENDING (or CONFIRMED, when a confirmed order is being reversed) until every compensation
 *   was acknowledged; only then does it become CANCELLED.
 * - The first cancel reason wins: a customer cancel during a compensation, or a late reply, changes nothing.
 * - A reply that does not apply is ignored. A reply revealing an effect that nothing undoes yet (stock
 *   reserved after an out-of-stock answer, a payment captured after a decline) sends the compensation for it.
 */
import { InvalidOrder } from './errors';
import { MAX_LINES, MAX_QUANTITY, type NewOrder, type Order, type SagaCommandName, orderLimitViolations } from './order';
import { onDeadline, onRetryRequested } from './saga-deadlines';
import { Draft } from './saga-draft';
import type { Decision, SagaContext, SagaInput } from './saga-types';
import * as say from './wording';

export * from './saga-types';

/** Starts the saga of a new order. @throws InvalidOrder when the order breaks a domain rule */
export function placeOrder(input: NewOrder, ctx: SagaContext): Decision {
  assertValid(input);
  const lines = input.lines.map(({ sku, quantity }) => ({ sku, quantity }));
  const d = new Draft(
    {
      id: input.id,
      customerId: input.customerId,
      lines,
      totalCents: null,
      status: 'PENDING',
      reason: null,
      saga: { step: 'RESERVING', attempt: 0, deadlineAt: null, awaiting: [], messageIds: {}, cancelReason: null, orderWaitedMs: 0 },
    },
    ctx,
  );
  d.note('Order placed', say.placed(input.customerId, lines));
  d.events.push({ name: 'OrderPlaced', payload: { orderId: input.id, customerId: input.customerId, lines } });
  d.enter('RESERVING', ['ReserveStock']);
  return d.decision();
}

/** The saga's reaction to a reply, a deadline or a customer's cancel request. */
export function decide(order: Order, input: SagaInput, ctx: SagaContext): Decision {
  const d = new Draft(order, ctx);
  switch (input.type) {
    case 'StockReserved':
      onStockReserved(d, input);
      break;
    case 'StockReservationFailed':
      onStockReservationFailed(d, input);
      break;
    case 'PaymentCaptured':
      onPaymentCaptured(d, input);
      break;
    case 'PaymentDeclined':
      onPaymentDeclined(d, input);
      break;
    case 'StockReleased':
      acknowledge(d, 'ReleaseStock', 'Stock released', say.stockReleased());
      break;
    case 'PaymentRefunded':
      acknowledge(d, 'RefundPayment', 'Payment refunded', say.paymentRefunded(input.refundedCents, input.entryId));
      break;
    case 'StockReturned':
      // stock can only come back once it was committed: if that reply is still missing, it is implied
      if (d.saga.awaiting.includes('ReturnStock')) d.acknowledge('CommitStock');
      acknowledge(d, 'ReturnStock', 'Stock returned', say.stockReturned());
      break;
    case 'StockCommitted':
      acknowledge(d, 'CommitStock', 'Stock committed', say.stockCommitted());
      break;
    case 'Deadline':
      onDeadline(d, input);
      break;
    case 'CancelRequested':
      onCancelRequested(d);
      break;
    case 'RetryRequested':
      onRetryRequested(d, input);
      break;
    default: {
      const unknown: never = input;
      throw new Error(`Unknown saga input ${JSON.stringify(unknown)}`);
    }
  }
  return d.decision(order);
}

function onStockReserved(d: Draft, input: Extract<SagaInput, { type: 'StockReserved' }>): void {
  const { order, saga } = d;
  if (saga.step === 'RESERVING') {
    d.acknowledge('ReserveStock');
    const prices = new Map(input.lines.map((l) => [l.sku, l.unitPriceCents]));
    order.lines = order.lines.map((l) => (prices.has(l.sku) ? { ...l, unitPriceCents: prices.get(l.sku) } : l));
    order.totalCents = input.totalCents;
    if (input.totalCents === 0) {
      d.note('Stock reserved', say.stockReservedFree(order.lines));
      confirm(d);
    } else {
      d.note('Stock reserved', say.stockReserved(order.lines, input.totalCents));
      d.enter('CAPTURING', ['CapturePayment']);
    }
    return;
  }
  if (order.status === 'CONFIRMED' || saga.step === 'CAPTURING') return; // a repeat of the reply already applied
  if (saga.messageIds.ReleaseStock || saga.messageIds.ReturnStock) {
    // inventory handles the order's messages in order: the release sent earlier gives this stock back.
    // Worth a note only if no reservation had been recorded (otherwise it is a repeat of the one we had).
    if (order.status === 'PENDING' && order.totalCents === null) d.note('Stock reserved late', say.lateReserveCovered());
    return;
  }
  // CANCELLED without any release (out of stock), yet stock is reserved: give it back
  d.note('Stock reserved after cancellation', say.reservedAfterCancel());
  d.undo('ReleaseStock');
}

function onStockReservationFailed(d: Draft, input: Extract<SagaInput, { type: 'StockReservationFailed' }>): void {
  const { order, saga } = d;
  if (saga.step === 'RESERVING') {
    if (input.reason === 'RELEASED') {
      // Nothing here sent a release, so this contradicts our state. Nothing is reserved and nothing can be:
      // let the reservation deadline run out, which cancels the order (TIMED_OUT) after a release.
      d.note('Reservation refused', say.reservationRefusedReleased());
      return;
    }
    d.acknowledge('ReserveStock');
    d.note('Out of stock', say.outOfStock(input.shortages));
    saga.cancelReason = 'OUT_OF_STOCK';
    finishCancel(d);
    return;
  }
  // a late answer to a reservation the saga gave up on is worth a note; once a reservation was recorded, it is noise
  if (order.status === 'PENDING' && saga.step === 'COMPENSATING' && order.totalCents === null) {
    d.note('Late answer from inventory', say.lateReservationFailed(input.reason, input.shortages));
  }
}

function onPaymentCaptured(d: Draft, input: Extract<SagaInput, { type: 'PaymentCaptured' }>): void {
  const { order, saga } = d;
  if (saga.step === 'CAPTURING') {
    d.acknowledge('CapturePayment');
    d.note('Payment captured', say.paymentCaptured(input.amountCents, input.entryId));
    confirm(d);
    return;
  }
  if (order.status === 'CONFIRMED' || !saga.messageIds.CapturePayment) return; // a repeat, or nothing we asked for
  if (saga.messageIds.RefundPayment) {
    // billing handles the order's messages in order: the refund sent earlier reverses this capture
    if (order.status === 'PENDING') d.note('Payment taken late', say.lateCaptureCovered(input.amountCents));
    return;
  }
  // billing declined, yet took the money: give it back
  d.note('Payment taken after decline', say.captureAfterDecline(input.amountCents));
  d.undo('RefundPayment');
}

function onPaymentDeclined(d: Draft, input: Extract<SagaInput, { type: 'PaymentDeclined' }>): void {
  const { order, saga } = d;
  if (saga.step === 'CAPTURING') {
    d.acknowledge('CapturePayment');
    d.note('Payment declined', say.paymentDeclined(input.reason, input.detail));
    d.compensate('PAYMENT_DECLINED', ['ReleaseStock']);
    return;
  }
  if (order.status === 'PENDING' && saga.step === 'COMPENSATING')
    d.note('Payment refused late', say.lateDecline(input.reason, input.detail));
}

function onCancelRequested(d: Draft): void {
  const { order, saga } = d;
  if (order.status === 'CANCELLED') return;
  if (order.status === 'PENDING') {
    if (saga.step === 'RESERVING' || saga.step === 'CAPTURING') {
      d.note('Cancellation requested', say.cancelRequested(saga.step));
      d.compensate('CUSTOMER_REQUEST', saga.step === 'RESERVING' ? ['ReleaseStock'] : ['RefundPayment', 'ReleaseStock']);
    }
    return; // COMPENSATING: a cancellation is under way already, and its reason stays
  }
  if (saga.step === 'REVERSING') return;
  const paid = saga.messageIds.CapturePayment !== undefined;
  saga.cancelReason = 'CUSTOMER_REQUEST';
  saga.cancelRequestedAt = d.ctx.now.toISOString();
  d.note('Cancellation requested', say.cancelConfirmedRequested(paid ? order.totalCents : null));
  // Stock is returned only once committed. A commit not acknowledged yet stays awaited (and is re-sent before
  // ReturnStock, under its id); inventory handles an order's messages in order.
  const commit: SagaCommandName[] = saga.awaiting.includes('CommitStock') ? ['CommitStock'] : [];
  d.enter('REVERSING', [...commit, ...(paid ? (['RefundPayment'] as const) : []), 'ReturnStock']);
}

/** A reply to a command of the current step; ignored when that command is not awaited (a repeat or a late reply). */
function acknowledge(d: Draft, command: SagaCommandName, event: string, detail: string): void {
  if (!d.saga.awaiting.includes(command)) return;
  d.acknowledge(command);
  d.note(event, detail);
  if (d.saga.awaiting.length > 0) return;
  if (d.saga.step === 'COMPENSATING' || d.saga.step === 'REVERSING') finishCancel(d);
  else d.done(); // COMMITTING, CLEANUP
}

function confirm(d: Draft): void {
  const { order } = d;
  order.status = 'CONFIRMED';
  d.note('Order confirmed', say.confirmed());
  d.events.push({
    name: 'OrderConfirmed',
    payload: { orderId: order.id, customerId: order.customerId, totalCents: order.totalCents ?? 0 },
  });
  d.enter('COMMITTING', ['CommitStock']);
}

function finishCancel(d: Draft): void {
  const { order, saga } = d;
  const reason = saga.cancelReason ?? 'CUSTOMER_REQUEST';
  order.status = 'CANCELLED';
  order.reason = reason;
  d.done();
  d.note('Order cancelled', say.cancelled(reason));
  d.events.push({ name: 'OrderCancelled', payload: { orderId: order.id, reason } });
}

function assertValid(input: NewOrder): void {
  if (!input.customerId || input.customerId.length > 64) throw new InvalidOrder('customerId must be 1–64 characters');
  if (input.lines.length === 0 || input.lines.length > MAX_LINES)
    throw new InvalidOrder(`an order has 1–${MAX_LINES} lines, got ${input.lines.length}`);
  for (const line of input.lines) {
    if (!line.sku || line.sku.length > 64) throw new InvalidOrder('every line needs a sku of 1–64 characters');
    if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0 || line.quantity > MAX_QUANTITY) {
      throw new InvalidOrder(`quantity of ${line.sku} must be a whole number from 1 to ${MAX_QUANTITY}, got ${line.quantity}`);
    }
  }
  const [broken] = orderLimitViolations(input.lines);
  if (broken) throw new InvalidOrder(broken.message);
}
