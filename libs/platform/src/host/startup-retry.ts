import { Logger, type LoggerService } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartupRetryOptions {
  /** How long to keep trying, in ms (STARTUP_RETRY_MS). 0: one attempt. */
  retryMs: number;
  /** Whether a failure may go away by waiting (a server still starting); others fail at once. Default: all. */
  retryable?: (error: Error) => boolean;
  /** Default: Nest's static logger (createLogger makes it the process's). */
  logger?: LoggerService;
  /** First wait, doubled after each failure up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `attempt` until it succeeds or `retryMs` has passed, waiting 0.25 s, 0.5 s, 1 s ... (at most 5 s) between
 * attempts and logging each wait with what it waits for. Compose (or any orchestrator) starts the apps while
 * PostgreSQL and Redis may still be coming up; waiting a bounded time beats a crash loop. Rethrows the last error.
 * A loop rather than a retry library: the bound is a total time, and each wait is logged with its reason.
 */
export async function retryStartup<T>(what: string, attempt: () => Promise<T>, options: StartupRetryOptions): Promise<T> {
  const { retryMs, retryable = () => true, logger = new Logger(), firstDelayMs = 250, maxDelayMs = 5_000 } = options;
  const deadline = Date.now() + retryMs;
  for (let delay = firstDelayMs; ; delay = Math.min(delay * 2, maxDelayMs)) {
    try {
      return await attempt();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const left = deadline - Date.now();
      if (left <= 0 || !retryable(failure)) throw failure;
      const wait = Math.min(delay, left);
      logger.warn(
        `Waiting for ${what}: ${describeFailure(failure)}. Trying again in ${wait} ms ` +
          `(giving up in ${Math.ceil(left / 1000)} s; STARTUP_RETRY_MS=${retryMs}).`,
        'Startup',
      );
      await sleep(wait);
    }
  }
}

/** The error's message, or its code when it has none (Node's AggregateError for a refused localhost has only a code). */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message || (error as { code?: string }).code || error.name;
}
