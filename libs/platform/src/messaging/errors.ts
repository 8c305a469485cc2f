import type { z } from 'zod';

/** A payload does not match its contract's schema. Thrown by `outbox.add`; nothing was written. */
export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
  /** On receive the same payload fails every time: dead-letter at once. */
  readonly nonRetryable: boolean;
  constructor(
    readonly type: string,
    readonly issues: readonly z.core.$ZodIssue[],
    where: 'publish' | 'receive' = 'publish',
  ) {
    const list = issues.map((i) => `${i.path.map(String).join('.') || '(payload)'}: ${i.message}`).join('; ');
    super(
      where === 'publish'
        ? `Cannot publish ${type}: the payload does not match its contract (${list}). Fix the payload; nothing was written to the outbox.`
        : `Received ${type} whose payload does not match the contract (${list}). It is poison and goes to the dead letters; fix the producer, then requeue or purge it.`,
    );
    this.nonRetryable = where === 'receive';
  }
}

/** `outbox.add` got an EntityManager that is not inside a transaction, so the message could outlive a rollback. */
export class OutboxRequiresTransactionError extends Error {
  override name = 'OutboxRequiresTransactionError';
  /** `call`: what was called, e.g. `add(billing.payment-captured.v1)`. */
  constructor(module: string, call: string) {
    super(
      `outbox.${call} for module '${module}' needs the EntityManager of an active transaction, so its change is ` +
        `committed or rolled back together with your writes. Call it inside dataSource.transaction(async (em) => { ...; await outbox.add(em, ...) }) ` +
        `and pass that em (not dataSource.manager).`,
    );
  }
}

/**
 * Throw (or wrap a cause in) this from a handler when trying again cannot help, e.g. a command that refers to
 * something that will never exist. The message goes to the dead letters at once instead of being retried.
 */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';
  /** Also recognised across module copies (`instanceof` fails when two copies of the platform are loaded). */
  readonly nonRetryable = true;
}

export function isNonRetryable(error: unknown): boolean {
  return (
    error instanceof NonRetryableError ||
    (typeof error === 'object' && error !== null && (error as { nonRetryable?: unknown }).nonRetryable === true)
  );
}

/**
 * A batch send failed because of one message. Transports reject with it when they can tell which one failed, so
 * the relay retries (or dead-letters) only that message, right away counted as an attempt, and re-sends the rest.
 */
export class MessageDeliveryError extends Error {
  override name = 'MessageDeliveryError';
  constructor(
    readonly messageId: string,
    override readonly cause: unknown,
  ) {
    super(`Message ${messageId} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * The transport could not hand the messages over at all (its broker is unreachable), so nothing was sent. The relay
 * keeps them pending and tries again with backoff, without counting an attempt: a broker outage never turns
 * messages into dead letters, however long it lasts.
 */
export class TransportUnavailableError extends Error {
  override name = 'TransportUnavailableError';
  /** Also recognised across module copies. */
  readonly transportUnavailable = true;
}

export function isTransportUnavailable(error: unknown): boolean {
  return (
    error instanceof TransportUnavailableError ||
    (typeof error === 'object' && error !== null && (error as { transportUnavailable?: unknown }).transportUnavailable === true)
  );
}
