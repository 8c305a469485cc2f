import type { LoggerService } from '@nestjs/common';
import type { ModuleDb, RidingStatement } from '../../database/module-db';
import type { Envelope } from './envelope';
import { describeError, isNonRetryable } from './errors';
import type { MessagingObserver } from './observer';
import { type RelayOptions, retryDelayMs } from './relay-options';
import type { RelayStatements } from './relay-sql';

/** A message this relay holds the lease of, waiting in its key's line or being delivered. */
export interface Held {
  seq: string;
  envelope: Envelope;
  /** A timer may start when it is handed over (claimed messages: perhaps), so its deletion must start it. */
  awaited: boolean;
  /** Failed attempts recorded so far. */
  attempts: number;
  /** Claims since its last recorded outcome (a failure, a postponement), the current one included. */
  claims: number;
  soloRuns: number;
}

export type Outcome = 'delivered' | 'dead' | 'stopped' | 'held';

/** What the outcomes need from their relay. */
export interface OutcomeHost {
  readonly module: string;
  readonly owner: string;
  readonly options: RelayOptions;
  readonly db: ModuleDb;
  readonly sql: RelayStatements;
  readonly logger: LoggerService;
  readonly observer: MessagingObserver;
  /** Whether the relay still runs (a failed deletion is tried again only then). */
  readonly running: boolean;
  /** Wake the backstop when a timer falls due, or at once. */
  wakeAt(at: number): void;
  wake(): void;
}

/** A warning at most every 10 s per kind: an outage must not flood the log. */
export function throttledWarnings(logger: LoggerService): (what: string, message: string) => void {
  const last = new Map<string, number>();
  return (what, message) => {
    const now = Date.now();
    if (now - (last.get(what) ?? 0) < 10_000) return;
    last.set(what, now);
    logger.warn(message);
  };
}

/**
 * A relay's bookkeeping: what became of each message it held, written to the outbox, fenced by the lease owner.
 * Deliveries are deleted in batches (or ride along with the module's next transaction); failures become retries or
 * dead letters; an unavailable transport or database postpones without counting an attempt; what could not even be
 * recorded is remembered here and released once the database answers.
 */
export class RelayOutcomes {
  private toDelete: string[] = [];
  /** Delivered, no timer waits for them: deleted by whichever transaction of the module commits next. */
  private toDeleteRiding: string[] = [];
  private markTimer?: NodeJS.Timeout;
  private marking?: Promise<void>;
  /** Leased to us but no longer in memory (the database failed under them): released once it answers again. */
  private forgotten: string[] = [];
  private readonly warnOnce: (what: string, message: string) => void;

  constructor(private readonly host: OutcomeHost) {
    this.warnOnce = throttledWarnings(host.logger);
  }

  /** Releases what could not be recorded earlier (the backstop calls it first in every round). */
  async releaseForgotten(): Promise<void> {
    if (this.forgotten.length === 0) return;
    await this.host.db.bookkeeping(this.host.sql.releaseStarted, [this.forgotten, this.host.owner]);
    this.forgotten = [];
  }

  /** A delivered message: deleted with the next batch (or, when no timer waits for it, with the module's next transaction). */
  delivered(message: Held): void {
    (message.awaited ? this.toDelete : this.toDeleteRiding).push(message.seq);
    if (this.toDelete.length + this.toDeleteRiding.length >= this.host.options.batchSize) return void this.flush();
    this.markTimer ??= setTimeout(() => void this.flush(), this.host.options.markDelayMs);
  }

  /** The riding deletion: the delivered messages no timer waits for, with the module's next transaction. */
  ride(): RidingStatement | undefined {
    if (this.toDeleteRiding.length === 0) return undefined;
    const seqs = this.toDeleteRiding.splice(0);
    return {
      sql: this.host.sql.deleteDelivered,
      values: [seqs, this.host.owner],
      settle: (committed) => {
        if (committed) return;
        this.toDeleteRiding.push(...seqs);
        this.markTimer ??= setTimeout(() => void this.flush(), this.host.options.markDelayMs);
      },
    };
  }

  /** Deletes the delivered messages now (after the deletions already on their way). */
  flush(): Promise<void> {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const previous = this.marking ?? Promise.resolve();
    const seqs = [...this.toDelete.splice(0), ...this.toDeleteRiding.splice(0)];
    if (seqs.length === 0) return previous;
    const next = previous.then(async () => {
      try {
        const [row] = await this.host.db.bookkeeping<{ deleted: number; next_timer: Date | null; successor: boolean }>(this.host.sql.done, [
          seqs,
          this.host.owner,
        ]);
        if (row.deleted < seqs.length) this.lostLeases(seqs.length - row.deleted);
        if (row.next_timer instanceof Date) this.host.wakeAt(row.next_timer.getTime());
        if (row.successor) this.host.wake();
      } catch (error) {
        // Delivered but not deleted: they go again after the lease and the consumers skip them. Try again soon.
        this.toDelete.unshift(...seqs);
        this.warnOnce('mark', `Deleting ${seqs.length} delivered message(s) failed (${describeError(error)}); trying again.`);
        if (this.host.running) this.markTimer ??= setTimeout(() => void this.flush(), this.host.options.pollIntervalMs);
      }
    });
    this.marking = next;
    return next;
  }

  /** A delivery failed: a retry after a backoff, or a dead letter after the last attempt (at once if non-retryable). */
  async failed(message: Held, error: unknown): Promise<Outcome> {
    const attempt = message.attempts + 1;
    const reason = describeError(error);
    if (isNonRetryable(error) || attempt >= this.host.options.retry.maxAttempts) {
      const why = isNonRetryable(error) ? 'a non-retryable error' : `${attempt} attempts`;
      return this.deadLetter(message, reason, attempt, why);
    }
    const delay = retryDelayMs(attempt, this.host.options.retry);
    const history = JSON.stringify([{ at: new Date().toISOString(), attempt, error: reason }]);
    const what = `${message.envelope.type} ${message.envelope.id} (key ${message.envelope.key})`;
    try {
      await this.host.db.bookkeeping(this.host.sql.retry, [message.seq, this.host.owner, attempt, reason, history, delay]);
    } catch (recordError) {
      return this.forget(message, recordError);
    }
    this.host.observer.recorded(this.host.module, message.envelope.type, 'retry');
    this.host.logger.warn(
      `Delivering ${what} failed (attempt ${attempt} of ${this.host.options.retry.maxAttempts}); retrying in ${delay} ms: ${reason}`,
    );
    this.host.wakeAt(Date.now() + delay);
    return 'held';
  }

  async deadLetter(message: Held, reason: string, attempt = message.attempts + 1, why = 'no outcome'): Promise<Outcome> {
    const history = JSON.stringify([{ at: new Date().toISOString(), attempt, error: reason }]);
    let rows: { n: number; next_timer: Date | null }[];
    try {
      rows = await this.host.db.bookkeeping(this.host.sql.deadLetter, [message.seq, this.host.owner, attempt, reason, history]);
    } catch (error) {
      return this.forget(message, error);
    }
    if (rows[0]?.next_timer instanceof Date) this.host.wakeAt(rows[0].next_timer.getTime());
    if (rows[0]?.n > 0) {
      this.host.observer.recorded(this.host.module, message.envelope.type, 'dead_letter');
      this.host.logger.warn(
        `Dead-lettered ${message.envelope.type} ${message.envelope.id} (key ${message.envelope.key}) after ${why}: ${reason} ` +
          `Inspect it with 'messages dead-letters show ${this.host.module} ${message.envelope.id}', fix the cause, then requeue or purge it.`,
      );
    }
    return 'dead';
  }

  /**
   * The transport (its broker) or the database is unavailable: nothing was handed over. The message waits a jittered
   * base·2^4 (3.2 s by default) and goes again, in order, without counting an attempt: an outage of any length never
   * dead-letters a message.
   */
  async postpone(message: Held, error: unknown): Promise<Outcome> {
    const full = Math.min(this.host.options.retry.capMs, this.host.options.retry.baseMs * 2 ** 4);
    const delay = Math.round(full / 2 + Math.random() * (full / 2));
    const reason = describeError(error);
    const history = JSON.stringify([{ at: new Date().toISOString(), attempt: 0, error: reason }]);
    try {
      await this.host.db.bookkeeping(this.host.sql.postpone, [[message.seq], this.host.owner, delay, reason, history]);
    } catch (recordError) {
      return this.forget(message, recordError);
    }
    this.host.observer.recorded(this.host.module, message.envelope.type, 'postponed');
    this.warnOnce(
      'unavailable',
      `Could not deliver ${message.envelope.type} (${reason}); messages of ${this.host.module} wait in the outbox and go again in about ${delay} ms (no attempt is counted).`,
    );
    this.host.wakeAt(Date.now() + delay);
    return 'held';
  }

  /** Neither the delivery nor its failure could be recorded: forget it here, release its lease once the database answers. */
  private forget(message: Held, error: unknown): Outcome {
    this.forgotten.push(message.seq);
    this.warnOnce(
      'forget',
      `Recording the outcome of ${message.envelope.type} ${message.envelope.id} failed (${describeError(error)}); it goes again later.`,
    );
    return 'held';
  }

  /** Gives leases back unchanged (nothing counted): the backstop claims them again, in order. */
  async release(seqs: string[]): Promise<void> {
    if (seqs.length === 0) return;
    try {
      await this.host.db.bookkeeping(this.host.sql.release, [seqs, this.host.owner]);
    } catch {
      this.forgotten.push(...seqs);
    }
  }

  private lostLeases(count: number): void {
    this.host.logger.warn(
      `Lost the lease of ${count} delivered message(s) before deleting them; their new owner delivers them again and consumers skip them as duplicates.`,
    );
  }
}
