import { Logger, type LoggerService } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { returnedRows } from '../idempotency/idempotency';
import type { MessageCatalog } from './catalog';
import { type MessageContract, type PayloadOf, parsePayload } from './contract';
import { type Envelope, EnvelopeSchema } from './envelope';
import { MessageDeliveryError, NonRetryableError, isNonRetryable } from './errors';
import { type BoundOutbox, Outbox, assertModuleName, bindOutbox } from './outbox';

/** What a handler gets besides the payload. */
export interface MessageContext<P = unknown> {
  envelope: Envelope<P>;
  /** The consumer module's transaction; the inbox row is already in it. */
  em: EntityManager;
  /** The consumer module's outbox in the same transaction; correlation, causation and trace follow the incoming message. */
  outbox: BoundOutbox;
}

export type MessageHandler<C extends MessageContract = MessageContract> = (
  payload: PayloadOf<C>,
  ctx: MessageContext<PayloadOf<C>>,
) => unknown;

export interface Subscription<C extends MessageContract = MessageContract> {
  /** Inbox identity, `<module>:<Class>.<method>`. Renaming it makes the handler a new consumer (see index.ts). */
  consumer: string;
  /** The consumer module: its DataSource runs the transaction, its schema holds the inbox. */
  module: string;
  contract: C;
  handle: MessageHandler<C>;
  /** See ConsumerOptions.batchable. Default false: one transaction per message. */
  batchable?: boolean;
}

export interface ConsumerOptions {
  /**
   * Every handler of this consumer touches only rows that belong to the message's key (e.g. the order of an
   * order id), so the relay may apply a batch of messages in one transaction: fewer commits under load.
   * Leave it off (the default) when a handler locks rows that many keys share (stock items, accounts): two
   * batches would lock them in message order and deadlock each other. Then each message gets its own
   * transaction, still in order.
   */
  batchable?: boolean;
}

const CONSUMER = Symbol('messaging:consumer');
const HANDLES = Symbol('messaging:handles');
type Handles = { contract: MessageContract; name?: string }[];
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a method read off a prototype
const handlesOf = (method: Function): Handles => (Reflect.getMetadata(HANDLES, method) as Handles | undefined) ?? [];

/** Marks a provider whose `@HandleMessage` methods consume messages for `module` (inbox and transaction of that module). */
export function MessageConsumer(module: string, options: ConsumerOptions = {}): ClassDecorator {
  assertModuleName(module);
  return (target) => Reflect.defineMetadata(CONSUMER, { module, ...options }, target);
}

/**
 * `@HandleMessage(CapturePayment) async capture(payload, ctx)`: the payload is typed (and validated) by the contract.
 * `consumer` overrides the method part of the consumer name, to keep it stable across a rename.
 */
export function HandleMessage<C extends MessageContract>(contract: C, options: { consumer?: string } = {}) {
  return <M extends (payload: PayloadOf<C>, ctx: MessageContext<PayloadOf<C>>) => unknown>(
    _target: object,
    _method: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const method = descriptor.value!;
    Reflect.defineMetadata(HANDLES, [...handlesOf(method), { contract, name: options.consumer }], method);
  };
}

/** Reads the decorators of one consumer instance. Used by Nest discovery; usable by hand in tests. */
export function subscriptionsOf(instance: object): Subscription[] {
  const type = instance.constructor;
  const consumerOf = Reflect.getMetadata(CONSUMER, type) as ({ module: string } & ConsumerOptions) | undefined;
  if (!consumerOf) return [];
  const { module, batchable = false } = consumerOf;
  const subscriptions: Subscription[] = [];
  for (
    let proto = Object.getPrototypeOf(instance) as object | null;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const method of Object.getOwnPropertyNames(proto)) {
      const fn: unknown = Object.getOwnPropertyDescriptor(proto, method)?.value;
      if (typeof fn !== 'function' || method === 'constructor') continue;
      for (const h of handlesOf(fn)) {
        const consumer = `${module}:${type.name}.${h.name ?? method}`;
        if (subscriptions.some((s) => s.consumer === consumer && s.contract.type === h.contract.type)) continue; // overridden method
        const handle = fn as (payload: unknown, ctx: MessageContext) => unknown;
        subscriptions.push({
          consumer,
          module,
          contract: h.contract,
          batchable,
          handle: (payload, ctx) => handle.call(instance, payload, ctx),
        });
      }
    }
  }
  return subscriptions;
}

/** The subscription table: message type → handlers. */
export class HandlerRegistry {
  private readonly byType = new Map<string, Subscription[]>();

  add<C extends MessageContract>(subscription: Subscription<C>): this {
    assertModuleName(subscription.module);
    const list = this.byType.get(subscription.contract.type) ?? [];
    if (list.some((s) => s.consumer === subscription.consumer)) {
      throw new Error(
        `Two handlers of ${subscription.contract.type} are named '${subscription.consumer}'. Consumer names must be unique: they key the inbox.`,
      );
    }
    this.byType.set(subscription.contract.type, [...list, subscription]);
    return this;
  }

  subscriptionsFor(type: string): readonly Subscription[] {
    return this.byType.get(type) ?? [];
  }

  /** Every subscription, by type. */
  all(): readonly Subscription[] {
    return [...this.byType.values()].flat();
  }

  /** The message types that have at least one local handler. */
  types(): string[] {
    return [...this.byType.keys()];
  }

  /** Modules that consume messages (each needs a DataSource with the inbox table). */
  consumerModules(): string[] {
    return [...new Set([...this.byType.values()].flat().map((s) => s.module))];
  }
}

export type DeliveryOutcome = { consumer: string; messageId: string; outcome: 'applied' | 'duplicate' };

/**
 * The receiving end of every transport. For each subscriber, one transaction on the consumer module's
 * DataSource over the messages it subscribes to: insert (consumer, message id) rows into its inbox (those
 * already there are duplicates and skipped), run the handler of each new message in order, commit. A concurrent
 * duplicate waits on the inbox key, then skips. Payloads are validated before the transaction starts.
 */
export class MessageDispatcher {
  private readonly outboxes = new Map<string, Outbox>();
  private readonly checkedIsolation = new Set<string>();

  constructor(
    private readonly registry: HandlerRegistry,
    /** The DataSource of a consumer module (the Nest wiring looks up `dataSourceToken(module)`). */
    private readonly dataSourceOf: (module: string) => DataSource,
    private readonly logger: LoggerService = new Logger('MessageDispatcher'),
    /** Publications each module declared; handlers' ctx.outbox enforces them like any outbox. */
    private readonly catalog?: MessageCatalog,
  ) {}

  /**
   * Delivers one message to every local subscriber. Rejects if any failed (the others committed and skip it on
   * the retry); with a NonRetryableError when no retry can help (malformed envelope, payload not matching the contract).
   */
  deliver(message: unknown): Promise<DeliveryOutcome[]> {
    return this.deliverBatch([message]);
  }

  /**
   * Delivers several messages, in order, one transaction per subscriber for all of them: all or nothing per
   * subscriber. Rejects if anything failed; the relay then delivers them one by one to find the failing message.
   */
  async deliverBatch(messages: readonly unknown[]): Promise<DeliveryOutcome[]> {
    const batch = messages.length > 1;
    const work = new Map<Subscription, Envelope[]>();
    for (const message of messages) {
      const envelope = blame(batch, idOf(message), () => parseEnvelope(message));
      const subscriptions = this.registry.subscriptionsFor(envelope.type);
      if (subscriptions.length === 0) this.logger.debug?.(`No local handler for ${envelope.type} (${envelope.id}); nothing to do.`);
      for (const s of subscriptions) work.set(s, [...(work.get(s) ?? []), envelope]);
    }
    const jobs = [...work];
    const results = await Promise.allSettled(jobs.map(([s, envelopes]) => this.deliverTo(s, envelopes, batch)));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ consumer: jobs[i][0].consumer, error: r.reason as unknown }] : [],
    );
    if (failures.length === 0) return results.flatMap((r) => (r as PromiseFulfilledResult<DeliveryOutcome[]>).value);
    if (failures.length === 1) throw failures[0].error; // keeps its class (NonRetryableError, InvalidMessageError, ...)
    const causes = failures.map((f) => (f.error instanceof MessageDeliveryError ? f.error.cause : f.error));
    const summary = failures
      .map((f, i) => {
        const cause = causes[i];
        return `${f.consumer}: ${cause instanceof Error ? cause.message : String(cause)}`;
      })
      .join(' | ');
    const error = causes.every(isNonRetryable)
      ? new NonRetryableError(`${failures.length} handlers failed: ${summary}`)
      : new Error(`${failures.length} handlers failed: ${summary}`);
    const ids = new Set(failures.map((f) => (f.error instanceof MessageDeliveryError ? f.error.messageId : undefined)));
    const [only] = ids;
    throw batch && ids.size === 1 && only ? new MessageDeliveryError(only, error) : error;
  }

  /**
   * One subscriber, each key's messages in order: in one transaction when it is batchable, else one transaction each
   * (those before a failure stay applied; their redelivery is skipped by the inbox). In a batch, a failure is
   * wrapped in a MessageDeliveryError naming the message, so the relay retries only that one.
   */
  async deliverTo(subscription: Subscription, envelopes: readonly Envelope[], batch = envelopes.length > 1): Promise<DeliveryOutcome[]> {
    if (envelopes.length <= 1) return this.applyInOneTransaction(subscription, envelopes, batch);
    // Key order (stable: each key's own order is kept), so two batches lock their keys' rows in the same order.
    if (subscription.batchable) return this.applyInOneTransaction(subscription, [...envelopes].sort(byKey), batch);
    const outcomes: DeliveryOutcome[] = [];
    for (const envelope of envelopes) outcomes.push(...(await this.applyInOneTransaction(subscription, [envelope], batch)));
    return outcomes;
  }

  private async applyInOneTransaction(
    subscription: Subscription,
    envelopes: readonly Envelope[],
    batch: boolean,
  ): Promise<DeliveryOutcome[]> {
    const { consumer, module } = subscription;
    const payloads = envelopes.map((e) => blame(batch, e.id, () => parsePayload(subscription.contract, e.payload, 'receive')));
    const dataSource = this.dataSourceOf(module);
    return dataSource.transaction(async (em) => {
      if (!this.checkedIsolation.has(module)) await this.checkIsolation(module, em);
      // Sorted, so two transactions inserting overlapping ids take the row locks in the same order.
      const ids = [...new Set(envelopes.map((e) => e.id.toLowerCase()))].sort();
      const inserted = returnedRows<{ message_id: string }>(
        await em.query(
          `INSERT INTO "${module}".inbox (consumer, message_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING message_id`,
          [consumer, ids],
        ),
      );
      const fresh = new Set(inserted.map((r) => r.message_id));
      const outcomes: DeliveryOutcome[] = [];
      for (const [i, envelope] of envelopes.entries()) {
        if (!fresh.delete(envelope.id.toLowerCase())) {
          outcomes.push({ consumer, messageId: envelope.id, outcome: 'duplicate' });
          continue;
        }
        const ctx: MessageContext = {
          envelope: { ...envelope, payload: payloads[i] },
          em,
          outbox: bindOutbox(this.outboxOf(module), em, envelope),
        };
        await blameAsync(batch, envelope.id, () => subscription.handle(payloads[i], ctx));
        outcomes.push({ consumer, messageId: envelope.id, outcome: 'applied' });
      }
      return outcomes;
    });
  }

  /**
   * Under REPEATABLE READ or SERIALIZABLE a concurrent duplicate fails with a serialization error instead of
   * waiting and skipping, so the inbox needs the PostgreSQL default, READ COMMITTED. Checked once per module.
   */
  private async checkIsolation(module: string, em: EntityManager): Promise<void> {
    const [{ transaction_isolation: level }] = await em.query<{ transaction_isolation: string }[]>('SHOW transaction_isolation');
    if (level !== 'read committed') {
      throw new Error(
        `Transactions of module '${module}' run at '${level}' isolation; messaging needs 'read committed' (the PostgreSQL default). ` +
          `Reset default_transaction_isolation for the ${module}_module role or the database.`,
      );
    }
    this.checkedIsolation.add(module);
  }

  private outboxOf(module: string): Outbox {
    let outbox = this.outboxes.get(module);
    if (!outbox) this.outboxes.set(module, (outbox = new Outbox(module, this.catalog)));
    return outbox;
  }
}

function byKey(a: Envelope, b: Envelope): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function parseEnvelope(message: unknown): Envelope {
  const parsed = EnvelopeSchema.safeParse(message);
  if (parsed.success) return parsed.data;
  const list = parsed.error.issues.map((i) => `${i.path.join('.') || '(envelope)'}: ${i.message}`).join('; ');
  throw new NonRetryableError(`Received a message with a malformed envelope (${list}); it cannot be handled and goes to the dead letters.`);
}

function idOf(message: unknown): string | undefined {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** In a batch, names the message a failure belongs to (see MessageDeliveryError). */
function blame<T>(batch: boolean, messageId: string | undefined, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw batch && messageId ? new MessageDeliveryError(messageId, error) : error;
  }
}

async function blameAsync(batch: boolean, messageId: string, work: () => unknown): Promise<void> {
  try {
    await work();
  } catch (error) {
    throw batch ? new MessageDeliveryError(messageId, error) : error;
  }
}
