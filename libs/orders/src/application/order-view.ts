import type { Attention, CancelReason, HistoryEntry, Order, OrderLine, OrderStatus, SagaCommandName, SagaStep } from '../domain/order';
import { RECEIVER_OF } from '../domain/order';
import * as say from '../domain/wording';
import type { HistoryRow, UndeliveredRow } from '../persistence';

/**
 * What the order waits on now, derived when it is read (never stored): the saga's awaited commands, and whether a
 * copy of one is still in orders' outbox. Delivered copies are deleted from the outbox, so a copy still there after
 * the re-send interval has not reached its receiver: that module (or the transport to it) is unreachable.
 */
export interface Waiting {
  step: SagaStep;
  /** The modules whose answer is awaited. */
  on: ('inventory' | 'billing')[];
  /** REPLY: delivered, the answer is awaited. UNREACHABLE: not delivered after the re-send interval. DEAD_LETTER: delivery gave up. */
  state: 'REPLY' | 'UNREACHABLE' | 'DEAD_LETTER';
  /** Since when the oldest undelivered copy waits (UNREACHABLE, DEAD_LETTER). */
  since?: string;
  detail: string;
}

/** A cancellation under way (refund and stock return in flight): the order is not plainly PENDING or CONFIRMED. */
export interface Cancellation {
  requestedAt: string | null;
  reason: CancelReason;
  state: 'IN_PROGRESS';
}

/** What GET /orders/:id shows. */
export interface OrderView {
  id: string;
  customerId: string;
  status: OrderStatus;
  /** Null until inventory has priced the lines. */
  totalCents: number | null;
  lines: OrderLine[];
  /** Only when CANCELLED. */
  reason?: CancelReason;
  /** Only while the order waits on another module (and is not parked). */
  waiting?: Waiting;
  /** Only while a cancellation is under way. */
  cancellation?: Cancellation;
  /** Only while the order is parked for an operator (its compensation gave up re-sending). */
  attention?: Attention;
  history: HistoryEntry[];
}

export function orderView(
  order: Order,
  history: HistoryRow[],
  undelivered: UndeliveredRow[],
  now: Date,
  resendIntervalMs: number,
): OrderView {
  const { saga } = order;
  const waiting = saga.attention ? undefined : waitingOf(order, undelivered, now, resendIntervalMs);
  const cancelling = order.status !== 'CANCELLED' && (saga.step === 'COMPENSATING' || saga.step === 'REVERSING');
  return {
    id: order.id,
    customerId: order.customerId,
    status: order.status,
    totalCents: order.totalCents,
    lines: order.lines,
    ...(order.reason ? { reason: order.reason } : {}),
    ...(waiting ? { waiting } : {}),
    ...(cancelling
      ? {
          cancellation: {
            requestedAt: saga.cancelRequestedAt ?? null,
            reason: saga.cancelReason ?? 'CUSTOMER_REQUEST',
            state: 'IN_PROGRESS' as const,
          },
        }
      : {}),
    ...(saga.attention ? { attention: saga.attention } : {}),
    history: history.map((h) => ({ at: h.at.toISOString(), event: h.event, detail: h.detail })),
  };
}

/** The message ids whose copies `orderView` needs to look up: those of the awaited commands. */
export function awaitedMessageIds(order: Order): string[] {
  return order.saga.awaiting.map((c) => order.saga.messageIds[c]).filter((id): id is string => id !== undefined);
}

function waitingOf(order: Order, undelivered: UndeliveredRow[], now: Date, resendIntervalMs: number): Waiting | undefined {
  const { saga } = order;
  if (saga.step === 'DONE' || saga.awaiting.length === 0) return undefined;
  const commandOf = new Map(Object.entries(saga.messageIds).map(([name, id]) => [id, name as SagaCommandName]));
  const copies = (status: UndeliveredRow['status']) => undelivered.filter((u) => u.status === status && commandOf.has(u.message_id));
  const on = (commands: SagaCommandName[]) => [...new Set(commands.map((c) => RECEIVER_OF[c]))];
  const base = { step: saga.step };
  const dead = copies('dead');
  if (dead.length > 0) {
    const commands = dead.map((u) => commandOf.get(u.message_id)!);
    return { ...base, on: on(commands), state: 'DEAD_LETTER', since: oldest(dead), detail: say.waitingDeadLetter(commands) };
  }
  const stuck = copies('pending').filter((u) => now.getTime() - u.since.getTime() >= resendIntervalMs);
  if (stuck.length > 0) {
    const commands = stuck.map((u) => commandOf.get(u.message_id)!);
    const since = oldest(stuck);
    return {
      ...base,
      on: on(commands),
      state: 'UNREACHABLE',
      since,
      detail: say.waitingUnreachable(commands, now.getTime() - Date.parse(since)),
    };
  }
  return { ...base, on: on(saga.awaiting), state: 'REPLY', detail: say.waitingFor(saga.awaiting) };
}

function oldest(rows: UndeliveredRow[]): string {
  return new Date(Math.min(...rows.map((r) => r.since.getTime()))).toISOString();
}
