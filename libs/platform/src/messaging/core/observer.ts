import type { Envelope } from './envelope';

/** What became of one hand-over to the transport. */
export type DeliveryResult = 'delivered' | 'failed' | 'unavailable';
/** What a consumer's inbox transaction did with a message. */
export type HandlingResult = 'applied' | 'duplicate';
/** Bookkeeping a relay wrote for a message that was not delivered. */
export type RecordedOutcome = 'retry' | 'dead_letter' | 'postponed';

/** W3C Trace Context of a span, as it travels in an envelope. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/**
 * How the messaging core tells the outside what it does: the outbox, the relays, the dispatcher and the BullMQ worker
 * call it on their hot path. The core knows no metrics or tracing library; the platform's observability implements
 * it (libs/platform/src/observability). The default does nothing and allocates nothing, so switched off it costs a
 * function call.
 */
export interface MessagingObserver {
  /**
   * A message was added to `module`'s outbox (inside the producing transaction). Returns the trace context the
   * envelope carries instead of its own child context (a publish span of the active trace), or undefined.
   */
  published(module: string, envelope: Envelope): TraceContext | undefined;
  /** `module`'s relay took `count` messages: handed over after their commit, or claimed by the backstop. */
  taken(module: string, how: 'handoff' | 'claim', count: number): void;
  /** `module`'s relay hands a message to its transport; the returned function is called with the result. */
  delivering(module: string, envelope: Envelope): (result: DeliveryResult) => void;
  /** `module`'s relay recorded a retry, a dead letter or a postponement (transport or database unavailable). */
  recorded(module: string, type: string, outcome: RecordedOutcome): void;
  /** Runs one consumer's inbox transaction for `envelope` (a span whose parent is the envelope's trace context). */
  handle(module: string, consumer: string, envelope: Envelope, run: () => Promise<HandlingResult>): Promise<HandlingResult>;
  /** A BullMQ job of `type` was taken from `queue` after waiting `waitedMs` there. */
  dequeued(queue: string, type: string, waitedMs: number): void;
}

const ignoreResult = (): void => undefined;

/** The observer of a platform without observability: nothing recorded, nothing allocated. */
export const NO_MESSAGING_OBSERVER: MessagingObserver = {
  published: () => undefined,
  taken: () => undefined,
  delivering: () => ignoreResult,
  recorded: () => undefined,
  handle: (_module, _consumer, _envelope, run) => run(),
  dequeued: () => undefined,
};
