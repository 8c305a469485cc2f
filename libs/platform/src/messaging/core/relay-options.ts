export interface RetryOptions {
  /** First retry waits up to this long (ms); each further attempt doubles it... */
  baseMs: number;
  /** ...up to this cap (ms). */
  capMs: number;
  /** Delivery attempts before a message is dead-lettered (1 = no retry). */
  maxAttempts: number;
}

export interface RelayOptions {
  /** Backstop poll (ms): takes over messages of crashed instances, retries, requeues and due timers. */
  pollIntervalMs: number;
  /** Rows claimed per backstop statement. */
  batchSize: number;
  /** How long a message belongs to the relay that holds it (ms); renewed while it waits in memory. */
  leaseMs: number;
  retry: RetryOptions;
  /**
   * A message claimed this many times since its last recorded outcome (a failure, a postponement) is a suspect: the process
   * that delivered it may have died of it. A suspect is delivered alone, with nothing else in flight in the process.
   */
  suspectAfterClaims: number;
  /** A suspect whose solo deliveries left no outcome this many times is dead-lettered: it kills the process. */
  maxSoloRuns: number;
  /**
   * A suspect runs alone only once the relay has lived this long (ms). A handler that kills the process does so
   * wherever it runs; an outside killer (an OOM killer, a deploy, a kill -9 storm) strikes at random moments and
   * mostly soon after starts. Waiting keeps such storms from dead-lettering healthy messages.
   */
  suspectAfterUptimeMs: number;
  /** Delivered messages are deleted in batches, at most this long after delivery (ms). */
  markDelayMs: number;
  /** Inbox rows (duplicate detection) are deleted after this long (ms). Must exceed the longest retry span. */
  inboxRetentionMs: number;
  pruneIntervalMs: number;
  pruneBatchSize: number;
}

export type RelayOptionsInput = Partial<Omit<RelayOptions, 'retry'>> & { retry?: Partial<RetryOptions> };

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  pollIntervalMs: 1_000,
  batchSize: 200,
  leaseMs: 30_000,
  retry: { baseMs: 200, capMs: 60_000, maxAttempts: 10 },
  suspectAfterClaims: 2,
  maxSoloRuns: 2,
  suspectAfterUptimeMs: 5_000,
  markDelayMs: 50,
  inboxRetentionMs: 7 * 24 * 60 * 60_000,
  pruneIntervalMs: 60_000,
  pruneBatchSize: 1_000,
};

/** Fills in defaults and refuses settings that would break a guarantee. */
export function resolveRelayOptions(input: RelayOptionsInput = {}): RelayOptions {
  const options: RelayOptions = { ...DEFAULT_RELAY_OPTIONS, ...input, retry: { ...DEFAULT_RELAY_OPTIONS.retry, ...input.retry } };
  const values = { ...options, ...options.retry } as unknown as Record<string, unknown>;
  const positive = ['pollIntervalMs', 'batchSize', 'leaseMs', 'inboxRetentionMs', 'pruneIntervalMs', 'pruneBatchSize'];
  for (const name of [
    ...positive,
    'baseMs',
    'capMs',
    'maxAttempts',
    'suspectAfterClaims',
    'maxSoloRuns',
    'markDelayMs',
    'suspectAfterUptimeMs',
  ]) {
    const value = values[name];
    const min = name === 'markDelayMs' || name === 'suspectAfterUptimeMs' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
      throw new Error(`Messaging option ${name} must be a number ≥ ${min}, got ${String(value)}.`);
  }
  const span = longestRetrySpanMs(options);
  if (options.inboxRetentionMs <= span) {
    throw new Error(
      `Messaging option inboxRetentionMs (${options.inboxRetentionMs} ms) must be longer than the longest retry span (${span} ms for ` +
        `${options.retry.maxAttempts} attempts with leases of ${options.leaseMs} ms), or a retried message could be applied twice.`,
    );
  }
  return options;
}

/** Worst case from first to last attempt: every backoff at its maximum, every attempt using its whole lease. */
export function longestRetrySpanMs(options: Pick<RelayOptions, 'retry' | 'leaseMs'>): number {
  let span = 0;
  for (let attempt = 1; attempt < options.retry.maxAttempts; attempt++)
    span += Math.min(options.retry.capMs, options.retry.baseMs * 2 ** (attempt - 1));
  return span + options.retry.maxAttempts * options.leaseMs;
}

/**
 * "Full jitter" backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly random wait
 * between 0 and the capped exponential. Randomising the whole interval keeps many failing messages from
 * retrying in lockstep. It is one line, and the retry state lives in the outbox row, not in a retry loop a
 * library could run, so a dependency would add nothing.
 */
export function retryDelayMs(attempt: number, retry: Pick<RetryOptions, 'baseMs' | 'capMs'>): number {
  return Math.round(Math.random() * Math.min(retry.capMs, retry.baseMs * 2 ** (attempt - 1)));
}
