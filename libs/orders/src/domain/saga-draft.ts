/** The decision being built by one saga step: a copy of the order, what to send, and the history to append. */
import type { CancelReason, HistoryEntry, Order, SagaCommandName, SagaState, SagaStep } from './order';
import { nextDelayMs } from './saga-patience';
import { type Decision, FORWARD_STEPS, type OrderEvent, type SagaCommand, type SagaContext, type StepDeadline } from './saga-types';

export class Draft {
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
    if (FORWARD_STEPS.includes(step)) this.saga.stepWaitedMs = 0; // kept after it: how long the step that gave up waited
    this.saga.attention = null;
    for (const command of commands) this.send(command);
    this.schedule();
  }

  /** Starts undoing: the first reason (and the moment it was given) wins. */
  compensate(reason: CancelReason, commands: SagaCommandName[]): void {
    this.saga.cancelReason ??= reason;
    this.saga.cancelRequestedAt ??= this.ctx.now.toISOString();
    this.enter('COMPENSATING', commands);
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

  /** The current step's deadline passed (or an operator retries): send its unacknowledged commands again, under their ids. */
  resend(): void {
    this.saga.attempt += 1;
    for (const command of this.saga.awaiting) this.send(command);
    this.schedule();
  }

  /** Stops re-sending and waits for an operator: no deadline is left. */
  park(reason: string): void {
    this.saga.attention = { reason, since: this.ctx.now.toISOString(), step: this.saga.step };
    this.saga.deadlineAt = null;
  }

  done(): void {
    Object.assign(this.saga, {
      step: 'DONE',
      attempt: 0,
      awaiting: [],
      deadlineAt: null,
      attention: null,
    } satisfies Partial<SagaState>);
  }

  private send(name: SagaCommandName): void {
    const messageId = (this.saga.messageIds[name] ??= this.ctx.newId());
    this.commands.push(buildCommand(this.order, name, messageId));
  }

  /** The deadline starts when the last command sent is delivered (an order's commands share its key, so all are). */
  private schedule(): void {
    const { step, attempt } = this.saga;
    const delayMs = nextDelayMs(this.saga, this.ctx.policy);
    const at = new Date(this.ctx.now.getTime() + delayMs);
    this.saga.deadlineAt = at.toISOString();
    this.saga.deadlineDelayMs = delayMs;
    const startsAfter = this.commands.at(-1)?.messageId;
    if (!startsAfter) throw new Error(`saga step ${step} scheduled a deadline without sending a command`);
    this.deadline = { step, attempt, delayMs, startsAfter, at };
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
