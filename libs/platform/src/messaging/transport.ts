import type { Envelope } from './envelope';

/**
 * The seam between a module's relay and whatever carries messages to consumers. The relay calls `send` with
 * due messages, messages of one key in commit order, and marks them dispatched once `send` resolves.
 *
 * - Keep the order of the array for messages of the same key.
 * - Resolve only when every message is safely handed over: applied by the consumers (in-process) or durably
 *   enqueued (a broker, e.g. BullMQ `queue.addBulk(...)` with `jobId: envelope.id`).
 * - Reject if any was not. The relay then sends them again one at a time to find the failing message (those
 *   already applied are skipped by the consumers' inboxes); a one-message send that rejects is retried with
 *   backoff, or dead-lettered at once when it rejects with a NonRetryableError.
 * - The receiving side of any transport calls `MessageDispatcher.deliver(envelope)` (or `deliverBatch`), so
 *   handlers never know which transport brought a message.
 */
export interface MessageTransport {
  send(envelopes: readonly Envelope[]): Promise<void>;
}

/** Injection token of the application's transport (MessagingModule.forRoot({ transport })). */
export const MESSAGE_TRANSPORT = Symbol('MESSAGE_TRANSPORT');
