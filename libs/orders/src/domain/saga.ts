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
 *   re-send reuses it, so the receiver's inbox sees a repeat, never a second request.
 * - Every step that waits has a deadline `{step, attempt}`. Only the deadline of the current step and attempt
 *   counts; older ones are ignored. RESERVING and CAPTURING give up after `maxAttempts` sends and compensate
 *   with TIMED_OUT. Compensations (and the stock commit) never give up: an order must not be left holding
 *   stock or money, so they are re-sent with back-off until acknowledged (an operator sees a stuck one in
 *   the dead letters of the receiving module).
 * - The order stays PENDING (or CONFIRMED, when a confirmed order is being reversed) until every compensation
 *   was acknowledged; only then does it become CANCELLED.
 * - The first cancel reason wins: a customer cancel during a compensation, or a late reply, changes nothing.
 * - A reply that does not apply is ignored. A reply revealing an effect that nothing undoes yet (stock
 *   reserved after an out-of-stock answer, a payment captured after a decline) sends the compensation for it.
 */
import { InvalidOrder } from './errors';
import {
  type CancelReason,
  type HistoryEntry,
  MAX_LINES,
  MAX_QUANTITY,
  type NewOrder,
  type Order,
  type SagaCommandName,
  type SagaState,
  type SagaStep,
  orderLimitViolations,
} from './order';
import * as say from './wording';

export interface SagaPolicy {
  /** How long RESERVING and CAPTURING wait for a reply before re-sending; the base of the other steps' back-off. */
  stepTimeoutMs: number;
  /** Sends of RESERVING or CAPTURING (the first included) before the saga gives up and compensates with TIMED_OUT. */
  maxAttempts: number;
  /** Ceiling of the doubling delay between re-sends of the steps that never give up (compensations, commit). */
  maxRetryDelayMs: number;
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
  | { type: 'CancelRequested' };

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

/** "Tell me at `at` if step `step`, attempt `attempt`, is still waiting." */
export interface StepDeadline {
  step: SagaStep;
  attempt: number;
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
      saga: { step: 'RESERVING', attempt: 0, deadlineAt: null, awaiting: [], messageIds: {}, cancelReason: null },
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
    compensate(d, 'PAYMENT_DECLINED', ['ReleaseStock']);
    return;
  }
  if (order.status === 'PENDING' && saga.step === 'COMPENSATING')
    d.note('Payment refused late', say.lateDecline(input.reason, input.detail));
}

function onDeadline(d: Draft, input: Extract<SagaInput, { type: 'Deadline' }>): void {
  const { saga } = d;
  const policy = d.ctx.policy;
  if (saga.step === 'DONE' || input.step !== saga.step || input.attempt !== saga.attempt) return; // stale
  if (saga.step === 'RESERVING' || saga.step === 'CAPTURING') {
    if (saga.attempt < policy.maxAttempts) {
      d.note('No answer yet', say.retrying(saga.step, saga.attempt + 1, policy.maxAttempts, policy.stepTimeoutMs));
      d.resend();
    } else {
      d.note('Timed out', say.timedOut(saga.step, policy.maxAttempts, policy.stepTimeoutMs));
      compensate(d, 'TIMED_OUT', saga.step === 'RESERVING' ? ['ReleaseStock'] : ['RefundPayment', 'ReleaseStock']);
    }
    return;
  }
  // Never give up. Record the 2nd, 4th, 8th, ... attempt only, so a long outage does not flood the history.
  d.resend();
  if ((saga.attempt & (saga.attempt - 1)) === 0) d.note('Still waiting', say.stillWaiting(saga.awaiting, saga.attempt));
}

function onCancelRequested(d: Draft): void {
  const { order, saga } = d;
  if (order.status === 'CANCELLED') return;
  if (order.status === 'PENDING') {
    if (saga.step === 'RESERVING' || saga.step === 'CAPTURING') {
      d.note('Cancellation requested', say.cancelRequested(saga.step));
      compensate(d, 'CUSTOMER_REQUEST', saga.step === 'RESERVING' ? ['ReleaseStock'] : ['RefundPayment', 'ReleaseStock']);
    }
    return; // COMPENSATING: a cancellation is under way already, and its reason stays
  }
  if (saga.step === 'REVERSING') return;
  const paid = saga.messageIds.CapturePayment !== undefined;
  saga.cancelReason = 'CUSTOMER_REQUEST';
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

function compensate(d: Draft, reason: CancelReason, commands: SagaCommandName[]): void {
  d.saga.cancelReason ??= reason;
  d.enter('COMPENSATING', commands);
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

/** The decision being built: a copy of the order, and what to send. */
class Draft {
  readonly order: Order;
  readonly commands: SagaCommand[] = [];
  readonly events: OrderEvent[] = [];
  readonly history: HistoryEntry[] = [];
  deadline: StepDeadline | null = null;

  constructor(
    order: Order,
    readonly ctx: SagaContext,
  ) {
    this.order = structuredClone(order);
  }

  get saga(): SagaState {
    return this.order.saga;
  }

  note(event: string, detail: string): void {
    this.history.push({ at: this.ctx.now.toISOString(), event, detail });
  }

  /** Moves to a step that waits for replies to `commands`, sends them and schedules its first deadline. */
  enter(step: SagaStep, commands: SagaCommandName[]): void {
    this.saga.step = step;
    this.saga.attempt = 1;
    this.saga.awaiting = [...commands];
    for (const command of commands) this.send(command);
    this.schedule();
  }

  /** Makes sure an effect is undone: sends its compensation unless it was sent already. */
  undo(command: SagaCommandName): void {
    if (this.saga.messageIds[command]) return;
    if (this.saga.step === 'DONE') return this.enter('CLEANUP', [command]);
    this.saga.awaiting.push(command); // joins the current step (and its deadlines)
    this.send(command);
  }

  acknowledge(command: SagaCommandName): void {
    this.saga.awaiting = this.saga.awaiting.filter((c) => c !== command);
  }

  /** The current step's deadline passed: send its unacknowledged commands again, under their ids. */
  resend(): void {
    this.saga.attempt += 1;
    for (const command of this.saga.awaiting) this.send(command);
    this.schedule();
  }

  done(): void {
    Object.assign(this.saga, { step: 'DONE', attempt: 0, awaiting: [], deadlineAt: null } satisfies Partial<SagaState>);
  }

  private send(name: SagaCommandName): void {
    const messageId = (this.saga.messageIds[name] ??= this.ctx.newId());
    this.commands.push(buildCommand(this.order, name, messageId));
  }

  private schedule(): void {
    const { step, attempt } = this.saga;
    const { stepTimeoutMs, maxRetryDelayMs } = this.ctx.policy;
    const delay = FORWARD_STEPS.includes(step)
      ? stepTimeoutMs
      : Math.min(stepTimeoutMs * 2 ** (attempt - 1), Math.max(maxRetryDelayMs, stepTimeoutMs));
    const at = new Date(this.ctx.now.getTime() + delay);
    this.saga.deadlineAt = at.toISOString();
    this.deadline = { step, attempt, at };
  }

  decision(before?: Order): Decision {
    const changed = !before || this.history.length > 0 || this.commands.length > 0 || JSON.stringify(before) !== JSON.stringify(this.order);
    return { order: this.order, changed, commands: this.commands, events: this.events, deadline: this.deadline, history: this.history };
  }
}

/** A command's payload, rebuilt from the order: the same on every re-send, as its message id is. */
function buildCommand(order: Order, name: SagaCommandName, messageId: string): SagaCommand {
  const orderId = order.id;
  switch (name) {
    case 'ReserveStock':
      return { name, messageId, payload: { orderId, lines: order.lines.map(({ sku, quantity }) => ({ sku, quantity })) } };
    case 'CapturePayment':
      return { name, messageId, payload: { orderId, customerId: order.customerId, amountCents: order.totalCents ?? 0 } };
    case 'RefundPayment':
      return { name, messageId, payload: { orderId, reason: order.saga.cancelReason ?? 'CUSTOMER_REQUEST' } };
    default:
      return { name, messageId, payload: { orderId } };
  }
}
