/**
 * The sentences of an order's history. Written for a support person to read to a customer: plain words,
 * amounts with thousands separators, and always what happens next.
 */
import { type CancelReason, type OrderLine, RECEIVER_OF, type SagaCommandName } from './order';

export interface Shortage {
  sku: string;
  requested: number;
  available: number;
}

/** 2500 → "2,500 cents" (no locale data needed, so the text is the same on every machine). */
export function cents(amount: number): string {
  return `${String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} cents`;
}

/** 5000 → "5 s", 1500 → "1.5 s", 20 → "20 ms", 120000 → "2 min", 5400000 → "1.5 h". */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

/** ["a", "b", "c"] → "a, b and c". */
export function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

const quantities = (lines: OrderLine[]) => list(lines.map((l) => `${l.quantity} × ${l.sku}`));
const pricedLines = (lines: OrderLine[]) =>
  list(lines.map((l) => `${l.quantity} × ${l.sku}${l.unitPriceCents === undefined ? '' : ` at ${cents(l.unitPriceCents)}`}`));
const sentence = (text: string) => text.trim().replace(/[.\s]+$/, '');
const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

const WAITING_FOR: Record<SagaCommandName, string> = {
  ReserveStock: 'inventory to reserve the stock',
  CapturePayment: 'billing to take the payment',
  CommitStock: 'inventory to confirm that the stock left the warehouse',
  ReleaseStock: 'inventory to give back the reserved stock',
  RefundPayment: 'billing to refund the payment',
  ReturnStock: 'inventory to put the stock back on the shelf',
};

export const placed = (customerId: string, lines: OrderLine[]) =>
  `Customer ${customerId} ordered ${quantities(lines)}. Asking inventory to reserve the stock.`;

export const stockReserved = (lines: OrderLine[], totalCents: number) =>
  `Inventory reserved ${pricedLines(lines)}: ${cents(totalCents)} in total. Asking billing to take ${cents(totalCents)} from the customer's account.`;

export const stockReservedFree = (lines: OrderLine[]) =>
  `Inventory reserved ${pricedLines(lines)}. Everything is free, so there is nothing to pay.`;

export const outOfStock = (shortages: Shortage[]) =>
  shortages.length === 0
    ? 'Inventory could not reserve the stock. Nothing was reserved or charged.'
    : `Not enough stock of ${list(shortages.map((s) => `${s.sku} (${s.requested} wanted, ${s.available === 0 ? 'none' : s.available} available)`))}. Nothing was reserved or charged.`;

export const paymentCaptured = (amountCents: number, entryId: string) =>
  `${cents(amountCents)} were taken from the customer's account (ledger entry ${entryId}).`;

export const confirmed = () => 'The order is confirmed. Asking inventory to send the stock out.';

const DECLINE_FALLBACK = {
  INSUFFICIENT_FUNDS: 'the account balance is lower than the order total',
  NO_ACCOUNT: 'the customer has no account',
  CANCELLED: 'the payment had already been cancelled',
} as const;
export type DeclineReason = keyof typeof DECLINE_FALLBACK;
const declineText = (reason: DeclineReason, detail: string) => sentence(detail) || DECLINE_FALLBACK[reason];

export const paymentDeclined = (reason: DeclineReason, detail: string) =>
  `Payment declined: ${declineText(reason, detail)}. Nothing was charged. Asking inventory to give back the reserved stock before the order is cancelled.`;

const ASKED: Record<'RESERVING' | 'CAPTURING', string> = {
  RESERVING: 'Inventory has not answered the stock reservation',
  CAPTURING: 'Billing has not answered the payment request',
};

export const retrying = (step: 'RESERVING' | 'CAPTURING', attempt: number, waitedMs: number) =>
  `${ASKED[step]} in the ${duration(waitedMs)} since it received it; asked again (attempt ${attempt}).`;

export const timedOut = (step: 'RESERVING' | 'CAPTURING', deadline: 'step' | 'order', deadlineMs: number, attempts: number) => {
  const what = step === 'RESERVING' ? 'Inventory did not answer the stock reservation' : 'Billing did not answer the payment request';
  const limit =
    deadline === 'step'
      ? `within its deadline of ${duration(deadlineMs)} (${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}, counted from delivery)`
      : `before the order's deadline of ${duration(deadlineMs)} passed`;
  return step === 'RESERVING'
    ? `${what} ${limit}. Cancelling the order: asking inventory to give back any stock it may have reserved.`
    : `${what} ${limit}. Cancelling the order: asking billing to refund any payment it may have taken, and inventory to give back the reserved stock.`;
};

export const stillWaiting = (awaiting: SagaCommandName[], attempt: number) =>
  `Still waiting for ${list(awaiting.map((c) => WAITING_FOR[c]))}; asked again (attempt ${attempt}), waiting longer each time.`;

// Parked for an operator's attention, and resumed

export const attentionReason = (awaiting: SagaCommandName[], attempts: number) =>
  `No answer from ${list(awaiting.map((c) => WAITING_FOR[c]))} after ${attempts} attempts`;

export const parked = (awaiting: SagaCommandName[], attempts: number) =>
  `${attentionReason(awaiting, attempts)}. The order stops asking and waits for an operator: see GET /admin/orders/attention, then retry with POST /admin/orders/{id}/retry once the cause is fixed. A late answer still completes it.`;

export const retried = (by: string, awaiting: SagaCommandName[]) =>
  `${by} asked to try again. Asking ${list(awaiting.map((c) => WAITING_FOR[c]))} once more.`;

// What an order waits on now (GET /orders/:id `waiting`; derived when read, not stored)

export const waitingFor = (awaiting: SagaCommandName[]) => `Waiting for ${list(awaiting.map((c) => WAITING_FOR[c]))}.`;

export const waitingUnreachable = (awaiting: SagaCommandName[], undeliveredMs: number) => {
  const receivers = [...new Set(awaiting.map((c) => RECEIVER_OF[c]))];
  return `Waiting for ${list(receivers)}, which ${receivers.length === 1 ? 'is' : 'are'} unreachable: the request has not been delivered for ${duration(undeliveredMs)}. It goes out as soon as ${receivers.length === 1 ? 'it is' : 'they are'} back; the waiting time until then does not count against the order's deadlines.`;
};

export const waitingDeadLetter = (awaiting: SagaCommandName[]) =>
  `Waiting for ${list(awaiting.map((c) => WAITING_FOR[c]))}: the request could not be delivered and is in orders' dead letters. An operator can requeue it (messages-cli dead-letters requeue orders <id>).`;

export const waitingAttention = (reason: string) => `Needs attention: ${lowerFirst(reason)}. An operator can retry the order.`;

export const cancelRequested = (step: 'RESERVING' | 'CAPTURING') =>
  step === 'RESERVING'
    ? 'The customer asked to cancel. Asking inventory to give back any stock it reserved before the order is cancelled.'
    : 'The customer asked to cancel. Asking billing to refund any payment it took, and inventory to give back the reserved stock, before the order is cancelled.';

export const cancelConfirmedRequested = (paidCents: number | null) =>
  paidCents === null
    ? 'The customer asked to cancel the confirmed order. Nothing was paid; asking inventory to put the stock back on the shelf.'
    : `The customer asked to cancel the confirmed order. Asking billing to refund the ${cents(paidCents)} paid, and inventory to put the stock back on the shelf.`;

export const stockReleased = () => 'Inventory released the stock held for the order; it is available to other customers again.';

export const paymentRefunded = (refundedCents: number, entryId: string | null) =>
  refundedCents > 0
    ? `${cents(refundedCents)} were refunded to the customer's account${entryId ? ` (ledger entry ${entryId})` : ''}.`
    : 'Billing confirmed that nothing had been charged, so there was nothing to refund. A payment arriving late will be refused.';

export const stockReturned = () => "Inventory put the order's stock back on the shelf.";

export const stockCommitted = () => 'Inventory confirmed that the stock left the warehouse for this order.';

const CANCELLED: Record<CancelReason, string> = {
  OUT_OF_STOCK:
    'The order is cancelled because some items are out of stock. Nothing is held for it: no stock is reserved and nothing was charged.',
  PAYMENT_DECLINED:
    'The order is cancelled because the payment was declined. The reserved stock is back on the shelf and nothing was charged.',
  TIMED_OUT:
    'The order is cancelled because it could not be completed in time. Any stock reserved for it is back on the shelf and any payment taken was refunded.',
  CUSTOMER_REQUEST:
    'The order is cancelled as the customer asked. Any stock reserved for it is back on the shelf and any payment taken was refunded.',
};
export const cancelled = (reason: CancelReason) => CANCELLED[reason];

// Replies that arrive late, twice or out of order

export const lateReserveCovered = () =>
  'Inventory reported the stock reserved after the order had started cancelling. The release already requested gives that stock back.';

export const reservedAfterCancel = () =>
  'Inventory reported the stock reserved after the order had been cancelled. Asking inventory to give that stock back.';

export const reservationRefusedReleased = () =>
  "Inventory refused to reserve the stock because the order's stock had already been released. The order will be cancelled when its reservation deadline passes.";

export const lateReservationFailed = (reason: 'OUT_OF_STOCK' | 'RELEASED', shortages: Shortage[]) =>
  reason === 'RELEASED'
    ? 'Inventory refused the late reservation because the stock had already been released. Nothing was reserved.'
    : `Inventory answered late: ${lowerFirst(outOfStock(shortages))} The cancellation already under way continues.`;

export const lateCaptureCovered = (amountCents: number) =>
  `Billing took ${cents(amountCents)} after the order had started cancelling. The refund already requested gives it back.`;

export const captureAfterDecline = (amountCents: number) =>
  `Billing reported ${cents(amountCents)} taken although it had declined the payment. Asking billing to refund it.`;

export const lateDecline = (reason: DeclineReason, detail: string) =>
  reason === 'CANCELLED'
    ? 'Billing refused the late payment because it had already been cancelled. Nothing was charged.'
    : `Billing declined the payment late: ${declineText(reason, detail)}. Nothing was charged.`;
