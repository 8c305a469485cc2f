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

/** `outbox.add` got a transaction of another module, or none, so the message could outlive a rollback. */
export class OutboxRequiresTransactionError extends Error {
  override name = 'OutboxRequiresTransactionError';
  /** `call`: what was called, e.g. `add(billing.payment-captured.v1)`. */
  constructor(module: string, call: string, detail = 'got no transaction') {
    super(
      `outbox.${call} for module '${module}' ${detail}. Call it inside the module's own transaction, so the message is ` +
        `committed or rolled back together with your writes: db.transaction(async (tx) => { ...; await outbox.add(tx, ...) }).`,
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

const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The database could not be reached or went away mid-statement (a restart, a dropped connection): nothing about the
 * message is wrong, so the relay tries again later without counting an attempt, like a transport outage.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code && (UNAVAILABLE_CODES.has(e.code) || UNAVAILABLE_ERRNOS.has(e.code))) return true;
  return /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i.test(e.message ?? '');
}

/** `Name: message`, at most 2,000 characters, for logs and the outbox's error history. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2_000);
  return String(error).slice(0, 2_000);
}
