/**
 * Messaging: modules talk through versioned contracts over a transactional outbox, with an inbox on the
 * receiving side. Delivery is at least once; the inbox makes the effect once.
 *
 * The path of a message
 *   1. outbox.add(em, Contract, payload, { key }) inside the producer's transaction: the payload is validated,
 *      wrapped in an envelope (UUIDv7 id, source, key, correlation/causation, W3C traceparent) and inserted
 *      into the producer's own `outbox` table. A rollback takes the message with it.
 *   2. Commit delivers a NOTIFY on `outbox_<module>`, waking that module's relay (a 1 s poll backs it up).
 *   3. The relay claims due rows (up to 200) with FOR UPDATE SKIP LOCKED under a lease (owner token +
 *      lease_until); every later write is fenced by the owner, so several instances can run side by side.
 *   4. transport.send(envelopes): the claimed rows go out in lanes of whole key runs, up to 50 per send.
 *      InProcessTransport calls the dispatcher; a broker transport enqueues here and calls the dispatcher on
 *      the consuming side.
 *   5. The dispatcher validates the payloads, then runs each subscriber in one transaction of the consumer
 *      module: insert (consumer, message id) rows into its `inbox` (already there: skip), run the handler for
 *      each new message (it may publish through ctx.outbox in the same transaction), commit.
 *   6. The relay marks the rows dispatched (pruned after 1 h). A failed send is narrowed down to the failing
 *      message, which is retried with jittered exponential backoff, then dead-lettered (at once for
 *      NonRetryableError or an invalid payload); the rest of the batch goes on.
 *
 * Guarantees and rules
 *   - Order per key (aggregate id), in commit order: a message is not handed over while an earlier message of
 *     its key is undelivered, unless that one is delayed (notBefore in the future) or dead. A dead message stops
 *     blocking its key; requeueing it puts it back in front of its key's pending messages. Keys run in parallel.
 *   - A transaction that publishes for several keys should do so in a consistent key order: the per-key lock
 *     taken by outbox.add could otherwise deadlock (PostgreSQL aborts one transaction; retrying it is safe).
 *   - Consumer name = `<module>:<Class>.<method>` (or `@HandleMessage(C, { consumer })`). It keys the inbox:
 *     renaming a handler makes it a new consumer that will apply messages the old one already applied.
 *   - A message with several subscribers is retried as a whole; those that already committed skip it. A
 *     handler may also run again after its transaction rolled back (a batch that failed on another message).
 *   - No local subscriber: the message is simply marked dispatched (logged at debug).
 *   - Inbox rows are kept 7 days (must exceed the longest retry span; checked at start). Requeue dead letters
 *     within that window, or consumers that already applied them may apply them again.
 *   - Handlers must be idempotent for effects outside the consumer's database (HTTP calls, e-mail).
 *
 * Wiring: MessagingModule.forRoot({ relay, transport, adminToken }) once; MessagingModule.forModule('billing')
 * in each module with messagingMigrations(ts) in its migrations; `@MessageConsumer('billing')` classes with
 * `@HandleMessage(Contract)` methods are discovered. Operators: DeadLetters, /admin/dead-letters, the
 * `messages` CLI (apps/monolith/src/messages-cli.ts).
 *
 * Across processes (a module extracted into its own service): MessagingModule.forRoot({ bullmq: { host, peers,
 * redisUrl } }) makes the transport a BullMqRoutingTransport (local subscribers in process, plus every peer host's
 * BullMQ queue, job id = message id), and connectBullMq(app) consumes this host's queue through BullMqServer, a Nest
 * microservices transport strategy whose handlers call the dispatcher (ack after commit; retries with backoff, then a
 * dead letter in the consuming module's own outbox). Per-key order is not kept across hosts. See ./bullmq and
 * docs/messaging.md, "Over BullMQ".
 */
export { MessageCatalog } from './catalog';
export { type MessageContract, type PayloadInput, type PayloadOf, parsePayload } from './contract';
export { type Envelope, type EnvelopeOptions, EnvelopeSchema, childTraceparent, createEnvelope } from './envelope';
export {
  InvalidMessageError,
  MessageDeliveryError,
  NonRetryableError,
  OutboxRequiresTransactionError,
  TransportUnavailableError,
  isNonRetryable,
  isTransportUnavailable,
} from './errors';
export { messagingMigrations } from './migrations';
export { type BoundOutbox, InjectOutbox, Outbox, type OutboxAddOptions, bindOutbox, outboxChannel, outboxToken } from './outbox';
export {
  type ClaimedMessage,
  DEFAULT_RELAY_OPTIONS,
  OutboxRelay,
  type OutboxRelayDeps,
  type RelayOptions,
  type RelayOptionsInput,
  type RetryOptions,
  longestRetrySpanMs,
  resolveRelayOptions,
  retryDelayMs,
} from './relay';
export { MESSAGE_TRANSPORT, type MessageTransport } from './transport';
export { InProcessTransport } from './in-process-transport';
export {
  type DeliveryOutcome,
  HandleMessage,
  HandlerRegistry,
  MessageConsumer,
  type MessageContext,
  MessageDispatcher,
  type MessageHandler,
  type Subscription,
  subscriptionsOf,
} from './dispatcher';
export {
  type DeadLetter,
  DeadLetters,
  type DeadLetterSummary,
  type MessagingStore,
  MessagingModules,
  type OutboxStats,
  UnknownModuleError,
  adminStore,
} from './dead-letters';
export { AdminTokenGuard, MESSAGING_ADMIN_TOKEN, MessagingAdminController } from './admin.controller';
export {
  MessageHandlerExplorer,
  MessagingModule,
  MessagingModuleHost,
  type MessagingOptions,
  OutboxRelayHost,
  RELAY_OPTIONS,
  relayToken,
} from './messaging.module';
export { type CliIo, runMessagesCli } from './cli';
export { type CatalogueEntry, catalogueEntries, renderAsyncApi, renderCatalogueMarkdown } from './event-catalogue';
export * from './bullmq';
