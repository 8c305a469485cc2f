import { CapturePayment, RefundPayment } from '@app/billing/contracts';
import { CommitStock, ReleaseStock, ReserveStock, ReturnStock } from '@app/inventory/contracts';
import type { z } from 'zod';
import { OrderCancelled, OrderConfirmed, OrderPlaced, OrderStepDeadline } from '../contracts';
import type { Decision, OrderEvent, SagaCommand } from '../domain/saga';

/** Any `{ type, schema }` contract object (the platform reads contracts structurally). */
export interface MessageContract {
  readonly type: string;
  readonly schema: z.ZodType;
}

/**
 * Exactly the options of `outbox.add`: the order id as key, the command's own id (kept on re-sends), and for a
 * step's deadline a timer that starts once the step's last command was handed over to its transport.
 */
export interface SendOptions {
  key: string;
  id?: string;
  notBefore?: Date;
  startsAfter?: string;
  delayMs?: number;
}

/** A message a saga step wants sent, ready for the transactional outbox (see publishStep). */
export interface OutgoingMessage<C extends MessageContract = MessageContract> {
  contract: C;
  payload: z.input<C['schema']>;
  options: SendOptions;
}

/** Type-checks the payload against its contract where the message is built. */
function message<C extends MessageContract>(contract: C, payload: z.input<C['schema']>, options: SendOptions): OutgoingMessage {
  return { contract, payload, options };
}

/** The ordering key of an order's step deadlines: their own, so a deadline fires even while the command it watches is stuck. */
export function deadlineKey(orderId: string): string {
  return `${orderId}:deadline`;
}

/** The outbox of the step's transaction (a handler's `ctx.outbox`, or the orders outbox bound to a request's transaction). */
export interface SagaOutbox {
  add(contract: MessageContract, payload: unknown, options: SendOptions): Promise<unknown>;
  withdrawScheduled(key: string): unknown;
}

/**
 * Writes what a saga step decided to the outbox. When the step scheduled a new deadline, or the saga waits for
 * nothing any more, the earlier deadlines that have not fired are withdrawn first: they could only arrive to be
 * ignored, and under load they were a third of the orders module's deliveries. A step that keeps waiting under
 * its current deadline (a cancel that joins a step) keeps it.
 */
export async function publishStep(
  outcome: { changed: boolean; placed?: boolean; order: { id: string; saga: { deadlineAt: string | null } }; messages: OutgoingMessage[] },
  outbox: SagaOutbox,
): Promise<void> {
  if (!outcome.changed) return;
  const newDeadline = outcome.messages.some((m) => m.contract === OrderStepDeadline);
  // A new order has no deadline to withdraw yet.
  if (!outcome.placed && (newDeadline || outcome.order.saga.deadlineAt === null)) outbox.withdrawScheduled(deadlineKey(outcome.order.id));
  for (const m of outcome.messages) await outbox.add(m.contract, m.payload, m.options);
}

/** A decision's messages in the order to add them: events, then commands (under their saga-kept ids), then the step deadline. */
export function messagesOf(decision: Decision): OutgoingMessage[] {
  const key = decision.order.id;
  const out = [...decision.events.map((e) => eventMessage(e, key)), ...decision.commands.map((c) => commandMessage(c, key))];
  const deadline = decision.deadline;
  if (deadline)
    out.push(
      message(
        OrderStepDeadline,
        { orderId: key, step: deadline.step, attempt: deadline.attempt },
        // counted from delivery: while the command waits for an unreachable transport, the deadline does not run
        { key: deadlineKey(key), startsAfter: deadline.startsAfter, delayMs: deadline.delayMs },
      ),
    );
  return out;
}

function commandMessage(c: SagaCommand, key: string): OutgoingMessage {
  const options = { key, id: c.messageId };
  switch (c.name) {
    case 'ReserveStock':
      return message(ReserveStock, c.payload, options);
    case 'CapturePayment':
      return message(CapturePayment, c.payload, options);
    case 'RefundPayment':
      return message(RefundPayment, c.payload, options);
    case 'ReleaseStock':
      return message(ReleaseStock, c.payload, options);
    case 'CommitStock':
      return message(CommitStock, c.payload, options);
    case 'ReturnStock':
      return message(ReturnStock, c.payload, options);
  }
}

function eventMessage(e: OrderEvent, key: string): OutgoingMessage {
  switch (e.name) {
    case 'OrderPlaced':
      return message(OrderPlaced, e.payload, { key });
    case 'OrderConfirmed':
      return message(OrderConfirmed, e.payload, { key });
    case 'OrderCancelled':
      return message(OrderCancelled, e.payload, { key });
  }
}
