import type { Envelope } from '../core/envelope';

/**
 * The seam between a module's relay and whatever carries messages to consumers. The relay calls `deliver` for one
 * message at a time per key (keys in parallel) and deletes it from the outbox once `deliver` resolves.
 *
 * - Resolve only when the message is safely handed over: applied by the local consumers (in process) and durably
 *   enqueued for the remote ones (a broker, e.g. BullMQ with `jobId: envelope.id`).
 * - Reject if it was not. A TransportUnavailableError (the broker is unreachable) makes the relay try again later
 *   without counting an attempt; any other error counts one (retry with backoff, then a dead letter), and a
 *   NonRetryableError dead-letters at once.
 * - The receiving side of any transport calls `MessageDispatcher.deliver(envelope)`, so handlers never know which
 *   transport brought a message.
 */
export interface MessageTransport {
  deliver(envelope: Envelope): Promise<void>;
  /** Whether any consumer this transport reaches handles `type`. Messages nobody consumes are not stored. */
  carries(type: string): boolean;
}

/** Injection token of the application's transport (MessagingModule.forRoot({ transport })). */
export const MESSAGE_TRANSPORT = Symbol('MESSAGE_TRANSPORT');
