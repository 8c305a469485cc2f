/**
 * The order and its saga state, free of framework and database code.
 *
 * An order is PENDING while its saga runs, then CONFIRMED or CANCELLED. "Terminal" means "nothing left
 * to undo": an order only becomes CANCELLED once every compensation it needed has been acknowledged, so a
 * CANCELLED order holds no stock and no money, and a CONFIRMED order holds exactly its captured payment and
 * its committed stock. An order whose compensation went unanswered too long is parked for attention
 * (`saga.attention`): it keeps its status and waits for an operator's retry. The saga's own bookkeeping
 * (which step, which commands await a reply, under which message id each command was sent) lives in `saga`.
 */

import { MAX_UNIT_PRICE_CENTS } from '@app/inventory/contracts';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export const CANCEL_REASONS = ['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMED_OUT', 'CUSTOMER_REQUEST'] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export interface OrderLine {
  sku: string;
  quantity: number;
  /** Set from inventory's StockReserved reply: the price the stock was reserved at. */
  unitPriceCents?: number;
}

/** One line of an order's history, written for a support person to read to the customer. */
export interface HistoryEntry {
  /** ISO 8601 instant. */
  at: string;
  /** Short title, e.g. "Payment declined". */
  event: string;
  /** What happened and why, in full sentences. */
  detail: string;
}

/**
 * Where the saga is. Steps that wait for replies have a deadline; the forward steps give up (TIMED_OUT) when their
 * own deadline or the order's passes, counted from the delivery of their commands; the others back off and, after
 * a bounded number of re-sends, park the order for an operator's attention.
 * - RESERVING (PENDING): waiting for inventory to reserve the stock.
 * - CAPTURING (PENDING): waiting for billing to take the payment.
 * - COMPENSATING (PENDING): undoing what was done (release stock, refund payment) before cancelling.
 * - COMMITTING (CONFIRMED): waiting for inventory to confirm the stock left the warehouse.
 * - REVERSING (CONFIRMED): the customer cancelled a confirmed order; refunding and returning the stock.
 * - CLEANUP (CANCELLED): only after a reply contradicted an earlier one (e.g. stock reserved after an
 *   out-of-stock answer): undoing that effect.
 * - DONE: nothing outstanding.
 */
export const SAGA_STEPS = ['RESERVING', 'CAPTURING', 'COMPENSATING', 'COMMITTING', 'REVERSING', 'CLEANUP', 'DONE'] as const;
export type SagaStep = (typeof SAGA_STEPS)[number];

export const SAGA_COMMANDS = ['ReserveStock', 'CapturePayment', 'CommitStock', 'ReleaseStock', 'RefundPayment', 'ReturnStock'] as const;
export type SagaCommandName = (typeof SAGA_COMMANDS)[number];

/** The module that answers each command: whom an order waits on. */
export const RECEIVER_OF: Record<SagaCommandName, 'inventory' | 'billing'> = {
  ReserveStock: 'inventory',
  CommitStock: 'inventory',
  ReleaseStock: 'inventory',
  ReturnStock: 'inventory',
  CapturePayment: 'billing',
  RefundPayment: 'billing',
};

export interface SagaState {
  step: SagaStep;
  /** How many times the current step's commands have been sent (1 = the first send; 0 when DONE). */
  attempt: number;
  /** The earliest the current step's deadline can fire (ISO 8601; its timer starts once the command is delivered), or null when nothing is scheduled (DONE, parked). */
  deadlineAt: string | null;
  /** Commands of the current step that have not been acknowledged yet; re-sent on each deadline. */
  awaiting: SagaCommandName[];
  /** The message id of every command ever sent. A command is sent at most once per order, and every re-send reuses its id. */
  messageIds: Partial<Record<SagaCommandName, string>>;
  /** Why the order is being (or was) cancelled. Set when compensation starts; the first reason wins. */
  cancelReason: CancelReason | null;
  /** When the cancellation started (ISO 8601): the customer's request, a decline or a timeout. Absent before. */
  cancelRequestedAt?: string | null;
  /** The delay of the current deadline, counted (as patience used) when it fires. Absent in orders saved before it. */
  deadlineDelayMs?: number;
  /** Patience used by the current forward step (RESERVING, CAPTURING): time after delivery of its commands. */
  stepWaitedMs?: number;
  /** Patience used by the whole order so far, over its forward steps (SAGA_ORDER_DEADLINE_MS). */
  orderWaitedMs?: number;
  /** Set when the saga stopped re-sending a compensation and waits for an operator (see Attention). */
  attention?: Attention | null;
}

/**
 * A compensation (or the stock commit) that was re-sent its bounded number of times without an answer. The saga
 * stops re-sending; the order keeps its status and waits for an operator's retry (or a late reply).
 */
export interface Attention {
  /** The commands still unanswered, in the words of the history. */
  reason: string;
  /** ISO 8601 instant the order was parked. */
  since: string;
  step: SagaStep;
}

export interface Order {
  id: string;
  customerId: string;
  lines: OrderLine[];
  /** Known once inventory has priced the lines (StockReserved); null before. */
  totalCents: number | null;
  status: OrderStatus;
  /** Set exactly when the order is CANCELLED. */
  reason: CancelReason | null;
  saga: SagaState;
}

export interface NewOrder {
  id: string;
  customerId: string;
  lines: { sku: string; quantity: number }[];
}

/** Limits the domain enforces whatever the caller (HTTP or a message) validated already. */
export const MAX_LINES = 100;
/** Of one sku in one order, its lines added up: inventory reserves (and its contracts carry) at most this. */
export const MAX_QUANTITY = 1_000_000;
/**
 * Items in one order, every line added up. Inventory prices the lines later, at up to MAX_UNIT_PRICE_CENTS each; with
 * this many items at most, the total is an exact integer whatever the prices, as StockReserved and CapturePayment need.
 */
export const MAX_ORDER_UNITS = Math.floor(Number.MAX_SAFE_INTEGER / MAX_UNIT_PRICE_CENTS);

/** A limit broken by the order's lines together: `line` is the index of the line where it was crossed, or null for all. */
export interface LimitViolation {
  line: number | null;
  message: string;
}

/** What no single line shows: the lines of one sku add up to more than MAX_QUANTITY, or all to more than MAX_ORDER_UNITS. */
export function orderLimitViolations(lines: readonly { sku: string; quantity: number }[]): LimitViolation[] {
  const violations: LimitViolation[] = [];
  const perSku = new Map<string, number>();
  let units = 0;
  lines.forEach((line, index) => {
    const before = perSku.get(line.sku) ?? 0;
    perSku.set(line.sku, before + line.quantity);
    units += line.quantity;
    if (before <= MAX_QUANTITY && before + line.quantity > MAX_QUANTITY) {
      violations.push({
        line: index,
        message: `the lines of sku '${line.sku}' add up to more than ${MAX_QUANTITY.toLocaleString('en-US')}, the most one order may hold of one sku`,
      });
    }
  });
  if (units > MAX_ORDER_UNITS) {
    violations.push({
      line: null,
      message: `the lines add up to ${units.toLocaleString('en-US')} items; an order holds at most ${MAX_ORDER_UNITS.toLocaleString('en-US')}, so that its total stays exact at any price`,
    });
  }
  return violations;
}
