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

/** Exactly the options of `outbox.add`: the order id as key, the command's own id (kept on re-sends), a delivery delay. */
export interface SendOptions {
  key: string;
  id?: string;
  notBefore?: Date;
}

/**
 * A message a saga step wants sent, ready for the transactional outbox:
 *   for (const m of outcome.messages) await outbox.add(em, m.contract, m.payload, m.options);
 */
export interface OutgoingMessage<C extends MessageContract = MessageContract> {
  contract: C;
  payload: z.input<C['schema']>;
  options: SendOptions;
}

/** Type-checks the payload against its contract where the message is built. */
function message<C extends MessageContract>(contract: C, payload: z.input<C['schema']>, options: SendOptions): OutgoingMessage {
  return { contract, payload, options };
}

/** A decision's messages in the order to add them: events, then commands (under their saga-kept ids), then the step deadline. */
export function messagesOf(decision: Decision): OutgoingMessage[] {
  const key = decision.order.id;
  const out = [...decision.events.map((e) => eventMessage(e, key)), ...decision.commands.map((c) => commandMessage(c, key))];
  const deadline = decision.deadline;
  // A timer has its own ordering key: it must fire even while the command it watches is stuck in delivery.
  if (deadline)
    out.push(
      message(
        OrderStepDeadline,
        { orderId: key, step: deadline.step, attempt: deadline.attempt },
        { key: `${key}:deadline`, notBefore: deadline.at },
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
