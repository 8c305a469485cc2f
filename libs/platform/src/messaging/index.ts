/**
 * Messaging: modules talk through versioned contracts over a transactional outbox, with an inbox on the
 * receiving side. Delivery is at least once; the inbox makes the effect once.
 *
 * The path of a message (core/), one way:
 *   1. outbox.add(tx, Contract, payload, { key }) inside the producer's transaction: the payload is validated and
 *      wrapped in an envelope (UUIDv7 id, source, key, correlation/causation, W3C traceparent). At commit the
 *      transaction's messages go into the producer's `outbox` table in one insert, leased to this process's relay.
 *   2. After the commit the outbox hands them to the module's relay, which lines them up per key.
 *   3. The relay delivers the head of each key's line through the transport (keys in parallel, up to the
 *      process's delivery gate). In process, the dispatcher runs each subscriber in one transaction of the consumer
 *      module: its inbox row, the handler, and the messages the handler publishes (which go on at step 1).
 *   4. The relay deletes the delivered rows, in batches.
 * Off that path, the relay's backstop claim (FOR UPDATE SKIP LOCKED, under fenced leases) picks up whatever the
 * fast path could not take: messages of crashed instances, retries, requeues, timers. See core/relay.ts.
 *
 * Guarantees and rules
 *   - Order per key (aggregate id), in commit order, within one producer's outbox: a message is applied by every
 *     handler of every module before the next message of its key starts, unless it is delayed or dead.
 *   - A transaction that publishes for several keys should do so in a consistent key order: the per-key lock
 *     taken at commit could otherwise deadlock (PostgreSQL aborts one transaction; retrying it is safe).
 *   - Consumer name = `<module>:<Class>.<method>` (or `@HandleMessage(C, { consumer })`). It keys the inbox:
 *     renaming a handler makes it a new consumer that will apply messages the old one already applied.
 *   - A message with several subscribers is retried as a whole; those that already committed skip it.
 *   - A message nobody in this deployment consumes is validated and not stored.
 *   - Inbox rows are kept 7 days (must exceed the longest retry span; checked at start). Requeue dead letters
 *     within that window, or consumers that already applied them may apply them again.
 *   - Handlers must be idempotent for effects outside the consumer's database (HTTP calls, e-mail).
 *   - A message claimed again and again without an outcome is delivered alone, then dead-lettered if the process
 *     dies of it: a handler that crashes the process costs a few restarts, never a crash loop.
 *
 * Wiring: MessagingModule.forRoot({ relay, transport, adminToken }) once; MessagingModule.forModule('billing')
 * in each module with messagingMigrations(ts) in its migrations; `@MessageConsumer('billing')` classes with
 * `@HandleMessage(Contract)` methods are discovered. Operators (operations/): DeadLetters, /admin/dead-letters,
 * the `messages` CLI. The event catalogue (catalogue/) is generated from the declarations and handlers.
 *
 * Across processes (transports/bullmq): MessagingModule.forRoot({ bullmq: { host, peers, redisUrl } }) makes the
 * transport a BullMqRoutingTransport (local subscribers in process, plus the peer hosts' BullMQ queues, job id =
 * message id), and connectBullMq(app) consumes this host's queue through BullMqServer, whose handlers call the same
 * dispatcher (ack after commit; retries with backoff, then a dead letter in the consuming module's own outbox).
 * Per-key order is not kept across hosts. See docs/messaging.md, "Over BullMQ".
 */
export { MessageCatalog } from './catalogue/catalog';
export { type CatalogueEntry, catalogueEntries, renderAsyncApi, renderCatalogueMarkdown } from './catalogue/event-catalogue';
export { type MessageContract, type PayloadInput, type PayloadOf, parsePayload } from './core/contract';
export { DeliveryGate } from './core/delivery-gate';
export { type DeliveryOutcome, MessageDispatcher } from './core/dispatcher';
export { type Envelope, type EnvelopeOptions, EnvelopeSchema, childTraceparent, createEnvelope } from './core/envelope';
export { newId, randomHex } from './core/ids';
export {
  type DeliveryResult,
  type HandlingResult,
  type MessagingObserver,
  NO_MESSAGING_OBSERVER,
  type RecordedOutcome,
  type TraceContext,
} from './core/observer';
export {
  InvalidMessageError,
  NonRetryableError,
  OutboxRequiresTransactionError,
  TransportUnavailableError,
  describeError,
  isDatabaseUnavailable,
  isNonRetryable,
  isTransportUnavailable,
} from './core/errors';
export {
  HandleMessage,
  HandlerRegistry,
  MessageConsumer,
  type MessageContext,
  type MessageHandler,
  type OnDuplicate,
  type Subscription,
  subscriptionsOf,
} from './core/handlers';
export { messagingMigrations } from './core/migrations';
export {
  type BoundOutbox,
  type HandedOff,
  InjectOutbox,
  Outbox,
  type OutboxAddOptions,
  type OutboxCourier,
  bindOutbox,
  outboxToken,
} from './core/outbox';
export { OWNER_LOCK_SPACE, RelayPresence, outboxChannel } from './core/presence';
export { OutboxRelay, type OutboxRelayDeps } from './core/relay';
export {
  DEFAULT_RELAY_OPTIONS,
  type RelayOptions,
  type RelayOptionsInput,
  type RetryOptions,
  longestRetrySpanMs,
  resolveRelayOptions,
  retryDelayMs,
} from './core/relay-options';
export { AdminTokenGuard, MESSAGING_ADMIN_TOKEN, MessagingAdminController } from './operations/admin.controller';
export { CrashProcess, FaultInjection, FaultInjectionController, type FaultInjectionMode } from './operations/fault-injection';
export { type CliIo, runMessagesCli } from './operations/cli';
export {
  type DeadLetter,
  DeadLetters,
  type DeadLetterSummary,
  type MessagingStore,
  MessagingModules,
  type OutboxStats,
  UnknownModuleError,
} from './operations/dead-letters';
export { InProcessTransport } from './transports/in-process';
export { MESSAGE_TRANSPORT, type MessageTransport } from './transports/transport';
export * from './transports/bullmq';
export {
  MESSAGING_OBSERVER,
  MessageHandlerExplorer,
  MessagingModule,
  MessagingModuleHost,
  type MessagingOptions,
  OutboxRelayHost,
  RELAY_OPTIONS,
  RelayPresenceHost,
  relayToken,
} from './messaging.module';
