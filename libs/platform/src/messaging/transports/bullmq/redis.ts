import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { retryStartup } from '../../../host/startup-retry';

/**
 * Connection settings for a producer (a Queue that the relay enqueues through). No offline queue and a command
 * timeout: while Redis is away, `add` fails at once instead of hanging, the relay's send rejects, and the messages
 * wait in the outbox (the relay tries again). ioredis reconnects on its own.
 */
export function producerConnection(url: string): RedisOptions {
  return { url, enableOfflineQueue: false, commandTimeout: 5_000, maxRetriesPerRequest: 1, connectionName: 'monolith-first:producer' };
}

/**
 * Connection settings for a Worker. BullMQ requires `maxRetriesPerRequest: null` for its blocking connection: a
 * worker waits out a Redis restart and goes on (ioredis reconnects, BullMQ re-issues its blocking pop).
 */
export function workerConnection(url: string): RedisOptions {
  return { url, maxRetriesPerRequest: null, connectionName: 'monolith-first:worker' };
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid Redis URL)';
  }
}

/**
 * Pings Redis until it answers, for up to `retryMs` (STARTUP_RETRY_MS; each ping fails within `timeoutMs`), then
 * fails with a message that says what needs Redis and where it was looked for. Used at start-up, so a process that
 * needs Redis does not start without it, but waits for one that is still starting (or loading its AOF). A refused
 * password is not waited for.
 */
export async function assertRedisReachable(
  url: string,
  needs: string,
  options: { retryMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const { retryMs = 0, timeoutMs = 3_000 } = options;
  try {
    await retryStartup(
      `Redis at ${redactRedisUrl(url)} (${needs} needs it)`,
      async () => {
        const problem = await pingRedis(url, timeoutMs);
        if (problem !== null) throw new Error(problem);
      },
      { retryMs, retryable: (error) => !/NOAUTH|WRONGPASS|invalid password/i.test(error.message) },
    );
  } catch (error) {
    throw new Error(
      `${needs} needs Redis, which is not reachable at ${redactRedisUrl(url)} (${(error as Error).message}). ` +
        `Start Redis (e.g. 'redis-server --appendonly yes --appendfsync always', or 'docker compose up redis') or set REDIS_URL ` +
        `(STARTUP_RETRY_MS: how long to wait for it), and start again.`,
      { cause: error },
    );
  }
}

/** Pings Redis once within `timeoutMs`; returns why it is unusable (ECONNREFUSED, ENOTFOUND, NOAUTH...), or null. */
export async function pingRedis(url: string, timeoutMs: number): Promise<string | null> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let cause: Error | undefined;
  client.on('error', (error: Error) => (cause ??= error)); // the first error says why
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return (cause ?? (error as Error)).message;
  } finally {
    client.disconnect();
  }
}
