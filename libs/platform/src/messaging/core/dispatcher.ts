import { Logger, type LoggerService } from '@nestjs/common';
import { type ModuleDb, type Statement, statement } from '../../database/module-db';
import { parsePayload } from './contract';
import { type Envelope, EnvelopeSchema } from './envelope';
import { NonRetryableError } from './errors';
import type { HandlerRegistry, MessageContext, Subscription } from './handlers';
import { type HandlingResult, type MessagingObserver, NO_MESSAGING_OBSERVER } from './observer';
import { type Outbox, bindOutbox } from './outbox';

export type DeliveryOutcome = { consumer: string; messageId: string; outcome: 'applied' | 'duplicate' };

/** The inbox row was there already: this copy is a duplicate. Stops the handler at its first read. */
class DuplicateDelivery extends Error {
  override name = 'DuplicateDelivery';
}

/**
 * The receiving end of every transport. A message goes to each local subscriber in turn (never side by side: one
 * key's messages are applied in order by every handler of every module), each in one transaction of the consumer
 * module: its inbox row, the handler's reads and writes, and the messages it publishes commit together. The inbox
 * insert is sent in the same round trip as the handler's first read; a duplicate ends there and rolls back. A
 * concurrent duplicate waits on the inbox key, then skips. Payloads are validated before the transaction starts.
 */
export class MessageDispatcher {
  private readonly inboxInserts = new Map<string, Statement>();

  constructor(
    private readonly registry: HandlerRegistry,
    /** The database of a consumer module. */
    private readonly dbOf: (module: string) => ModuleDb,
    /** The outbox of a consumer module (its handlers publish through it). */
    private readonly outboxOf: (module: string) => Outbox,
    private readonly logger: LoggerService = new Logger('MessageDispatcher'),
    private readonly observer: MessagingObserver = NO_MESSAGING_OBSERVER,
  ) {}

  /** Whether any local handler takes `type`. */
  handles(type: string): boolean {
    return this.registry.subscriptionsFor(type).length > 0;
  }

  /**
   * Delivers one message to every local subscriber, one after the other. Rejects at the first failure (those
   * before it committed and skip it on the retry); with a NonRetryableError when no retry can help (a malformed
   * envelope, a payload that does not match the contract).
   */
  async deliver(message: unknown): Promise<DeliveryOutcome[]> {
    const envelope = parseEnvelope(message);
    const subscriptions = this.registry.subscriptionsFor(envelope.type);
    if (subscriptions.length === 0) this.logger.debug?.(`No local handler for ${envelope.type} (${envelope.id}); nothing to do.`);
    const outcomes: DeliveryOutcome[] = [];
    for (const s of subscriptions) outcomes.push(await this.apply(s, envelope));
    return outcomes;
  }

  private async apply(subscription: Subscription, envelope: Envelope): Promise<DeliveryOutcome> {
    const { consumer, module } = subscription;
    const payload = parsePayload(subscription.contract, envelope.payload, 'receive');
    const outbox = this.outboxOf(module);
    const outcome = await this.observer.handle(module, consumer, envelope, () =>
      this.applyInTransaction(subscription, envelope, payload, outbox),
    );
    return { consumer, messageId: envelope.id, outcome };
  }

  /** The consumer's inbox transaction: the inbox row, the handler's reads and writes, its publications. */
  private async applyInTransaction(
    subscription: Subscription,
    envelope: Envelope,
    payload: unknown,
    outbox: Outbox,
  ): Promise<HandlingResult> {
    const { consumer, module } = subscription;
    try {
      await this.dbOf(module).transaction(async (tx) => {
        const fresh = tx.query(this.inboxInsert(module), [consumer, envelope.id]).then((rows) => {
          if (rows.length === 0) throw new DuplicateDelivery(`${consumer} already applied ${envelope.id}`);
        });
        tx.gateReadsOn(fresh);
        const ctx: MessageContext = { envelope: { ...envelope, payload }, tx, fresh, outbox: bindOutbox(outbox, tx, envelope) };
        await subscription.handle(payload, ctx);
        await fresh; // a handler that only writes learns here that it was a duplicate
      });
      return 'applied';
    } catch (error) {
      if (!(error instanceof DuplicateDelivery)) throw error;
      if (subscription.onDuplicate === 'rerun') await this.rerun(subscription, envelope, payload);
      return 'duplicate';
    }
  }

  /**
   * A duplicate of a message the handler answers idempotently: run it again, without an inbox row, so that it
   * publishes its reply again (the first one may have been lost). Best effort: the message was applied already, so a
   * failure here is logged and the duplicate is done, as it would be without a re-run.
   */
  private async rerun(subscription: Subscription, envelope: Envelope, payload: unknown): Promise<void> {
    const { consumer, module } = subscription;
    const outbox = this.outboxOf(module);
    try {
      await this.dbOf(module).transaction(async (tx) => {
        const ctx: MessageContext = {
          envelope: { ...envelope, payload },
          tx,
          fresh: Promise.resolve(),
          outbox: bindOutbox(outbox, tx, envelope),
          duplicate: true,
        };
        await subscription.handle(payload, ctx);
      });
    } catch (error) {
      this.logger.warn(
        `${consumer} had applied ${envelope.type} ${envelope.id} already; re-running it to re-emit its reply failed, so no reply was sent again: ${(error as Error).message}`,
      );
    }
  }

  private inboxInsert(module: string): Statement {
    let sql = this.inboxInserts.get(module);
    if (!sql) {
      sql = statement(`INSERT INTO "${module}".inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS fresh`);
      this.inboxInserts.set(module, sql);
    }
    return sql;
  }
}

function parseEnvelope(message: unknown): Envelope {
  const parsed = EnvelopeSchema.safeParse(message);
  if (parsed.success) return parsed.data;
  const list = parsed.error.issues.map((i) => `${i.path.join('.') || '(envelope)'}: ${i.message}`).join('; ');
  throw new NonRetryableError(`Received a message with a malformed envelope (${list}); it cannot be handled and goes to the dead letters.`);
}
