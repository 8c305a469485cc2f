import type { Tx } from '../../database/module-db';
import type { MessageContract, PayloadOf } from './contract';
import type { Envelope } from './envelope';
import { type BoundOutbox, assertModuleName } from './outbox';

/**
 * What a handler gets besides the payload.
 *
 * The inbox row travels in the same round trip as the handler's first read, so a duplicate runs the handler up to
 * that read (a handler that only writes: to its end) and is then rolled back: nothing it wrote stays. An effect
 * outside the database (an HTTP call, an e-mail) must come after a read of `tx`, or after `await ctx.fresh`.
 */
export interface MessageContext<P = unknown> {
  envelope: Envelope<P>;
  /** The consumer module's transaction; its inbox row is in it. Do not swallow errors of its statements. */
  tx: Tx;
  /** Resolves once the inbox row is known to be new (this consumer never applied the message); a duplicate stops here. */
  fresh: Promise<void>;
  /** The consumer module's outbox in the same transaction; correlation, causation and trace follow the incoming message. */
  outbox: BoundOutbox;
  /**
   * True when the message was applied before and the handler runs again only to re-emit its reply (`onDuplicate:
   * 'rerun'`): there is no inbox row in `tx`, and the handler must change nothing its first run did not.
   */
  duplicate?: boolean;
}

/**
 * What a duplicate (a message this consumer applied already) does. `skip` (the default): nothing, the inbox ends
 * it. `rerun`: the handler runs again in a new transaction of the consumer, with `ctx.duplicate` set, so that it
 * rebuilds its reply from its own state and publishes it again; for handlers that answer a command idempotently (a
 * repeat returns the first outcome), whose earlier reply may have been lost (dead-lettered) while the sender still
 * waits for it. The first delivery costs the same either way.
 */
export type OnDuplicate = 'skip' | 'rerun';

export type MessageHandler<C extends MessageContract = MessageContract> = (
  payload: PayloadOf<C>,
  ctx: MessageContext<PayloadOf<C>>,
) => unknown;

export interface Subscription<C extends MessageContract = MessageContract> {
  /** Inbox identity, `<module>:<Class>.<method>`. Renaming it makes the handler a new consumer (see index.ts). */
  consumer: string;
  /** The consumer module: its database runs the transaction, its schema holds the inbox. */
  module: string;
  contract: C;
  handle: MessageHandler<C>;
  onDuplicate?: OnDuplicate;
}

const CONSUMER = Symbol('messaging:consumer');
const HANDLES = Symbol('messaging:handles');
type Handles = { contract: MessageContract; name?: string; onDuplicate?: OnDuplicate }[];
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a method read off a prototype
const handlesOf = (method: Function): Handles => (Reflect.getMetadata(HANDLES, method) as Handles | undefined) ?? [];

/** Marks a provider whose `@HandleMessage` methods consume messages for `module` (inbox and transaction of that module). */
export function MessageConsumer(module: string): ClassDecorator {
  assertModuleName(module);
  return (target) => Reflect.defineMetadata(CONSUMER, { module }, target);
}

/**
 * `@HandleMessage(CapturePayment) async capture(payload, ctx)`: the payload is typed (and validated) by the contract.
 * `consumer` overrides the method part of the consumer name, to keep it stable across a rename. `onDuplicate: 'rerun'`
 * runs an idempotent handler again on a duplicate so that it re-emits its reply (see OnDuplicate).
 */
export function HandleMessage<C extends MessageContract>(contract: C, options: { consumer?: string; onDuplicate?: OnDuplicate } = {}) {
  return <M extends (payload: PayloadOf<C>, ctx: MessageContext<PayloadOf<C>>) => unknown>(
    _target: object,
    _method: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const method = descriptor.value!;
    Reflect.defineMetadata(HANDLES, [...handlesOf(method), { contract, name: options.consumer, onDuplicate: options.onDuplicate }], method);
  };
}

/** Reads the decorators of one consumer instance. Used by Nest discovery; usable by hand in tests. */
export function subscriptionsOf(instance: object): Subscription[] {
  const type = instance.constructor;
  const consumerOf = Reflect.getMetadata(CONSUMER, type) as { module: string } | undefined;
  if (!consumerOf) return [];
  const { module } = consumerOf;
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
          handle: (payload, ctx) => handle.call(instance, payload, ctx),
          ...(h.onDuplicate ? { onDuplicate: h.onDuplicate } : {}),
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

  /** Modules that consume messages (each needs a database with the inbox table). */
  consumerModules(): string[] {
    return [...new Set([...this.byType.values()].flat().map((s) => s.module))];
  }
}
