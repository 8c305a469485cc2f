import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { type JobsOptions, Queue, type RedisOptions } from 'bullmq';
import type { Envelope } from '../../core/envelope';
import { TransportUnavailableError } from '../../core/errors';
import { redactRedisUrl } from './redis';

/** What every job carries: the retry policy of the consuming side and how long Redis keeps finished jobs. */
export interface BullMqJobPolicy {
  /** Delivery attempts on the consuming side before the message becomes a dead letter there. */
  attempts: number;
  /** Attempt n waits a random time between 0 and backoffMs · 2^(n-1) ("full jitter"). */
  backoffMs: number;
  /** Completed jobs are kept this long (s), so a copy enqueued meanwhile collapses by its job id; the inbox covers after. */
  keepCompletedSeconds: number;
  /** ...and at most this many, so a busy queue cannot fill Redis' memory (the inbox covers what is evicted). */
  keepCompletedCount: number;
  /** Failed jobs (already recorded as dead letters in PostgreSQL) are kept this long (s) for inspection. */
  keepFailedSeconds: number;
}

export const DEFAULT_JOB_POLICY: BullMqJobPolicy = {
  attempts: 10,
  backoffMs: 200,
  keepCompletedSeconds: 3_600,
  keepCompletedCount: 100_000,
  keepFailedSeconds: 7 * 24 * 3_600,
};

export interface BullMqClientOptions {
  /** Producer connection (see producerConnection: fails fast while Redis is away). */
  connection: RedisOptions;
  /** Redis key prefix shared by every host of the deployment. */
  prefix: string;
  /** The queue of the receiving host (its name, e.g. `billing`). */
  queue: string;
  jobs?: Partial<BullMqJobPolicy>;
  /** How long one enqueue may take before it counts as Redis being unavailable (ms). */
  timeoutMs?: number;
}

/**
 * A Nest microservices client that puts messages on one host's BullMQ queue: one job per message, named by the
 * message type, with `jobId` = message id (a UUIDv7: no ':' and never all digits, as BullMQ requires). A copy of a
 * message enqueued while its job still exists (waiting, active, delayed, or completed less than
 * `keepCompletedSeconds` ago) is ignored by Redis; after that, the consumer's inbox skips it.
 *
 * Events only (`emit`, or `enqueue` for a batch): request/response would need the caller to wait on another
 * process, which is what the outbox avoids. `send` throws.
 */
export class BullMqClient extends ClientProxy {
  private queue?: Queue<Envelope>;
  private ready?: Promise<Queue<Envelope>>;
  readonly policy: BullMqJobPolicy;

  constructor(private readonly options: BullMqClientOptions) {
    super();
    this.policy = { ...DEFAULT_JOB_POLICY, ...options.jobs };
  }

  get queueName(): string {
    return this.options.queue;
  }

  /** Opens the queue's connection (waits until Redis answers). */
  connect(): Promise<Queue<Envelope>> {
    this.ready ??= (async () => {
      const queue = new Queue<Envelope>(this.options.queue, { connection: this.options.connection, prefix: this.options.prefix });
      queue.on('error', () => undefined); // failures surface as rejected enqueues, which the relay logs and retries
      this.queue = queue;
      await queue.waitUntilReady();
      return queue;
    })();
    return this.ready;
  }

  /** Closes the connection; never rejects or hangs (with Redis away, `close` fails and the socket is dropped instead). */
  async close(): Promise<void> {
    const queue = this.queue;
    this.queue = undefined;
    this.ready = undefined;
    if (!queue) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      queue.close().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 3_000))),
    ]);
    clearTimeout(timer);
    if (!closed) void queue.disconnect().catch(() => undefined);
  }

  unwrap<T>(): T {
    if (!this.queue) throw new Error(`The BullMQ client of queue '${this.options.queue}' is not connected; call connect() first.`);
    return this.queue as T;
  }

  /**
   * Enqueues the messages in order (one `addBulk`: one round trip, one MULTI). Resolves once Redis has acknowledged
   * every job; rejects with a TransportUnavailableError otherwise (the relay keeps the messages and tries again).
   */
  async enqueue(envelopes: readonly Envelope[]): Promise<void> {
    if (envelopes.length === 0) return;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          const queue = await this.connect();
          await queue.addBulk(envelopes.map((e) => ({ name: e.type, data: e, opts: this.jobOptions(e) })));
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      const url = typeof this.options.connection.url === 'string' ? redactRedisUrl(this.options.connection.url) : 'Redis';
      throw new TransportUnavailableError(
        `Could not enqueue ${envelopes.length} message(s) on BullMQ queue '${this.options.queue}' at ${url}: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  jobOptions(envelope: Envelope): JobsOptions {
    const delay = envelope.notBefore ? Math.max(0, Date.parse(envelope.notBefore) - Date.now()) : 0;
    return {
      jobId: envelope.id,
      attempts: this.policy.attempts,
      backoff: { type: 'exponential', delay: this.policy.backoffMs, jitter: 1 },
      removeOnComplete: { age: this.policy.keepCompletedSeconds, count: this.policy.keepCompletedCount },
      removeOnFail: { age: this.policy.keepFailedSeconds },
      ...(delay > 0 ? { delay } : {}),
    };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket<Envelope>): Promise<T> {
    const envelope = packet.data;
    if (envelope?.type !== packet.pattern) {
      throw new Error(`BullMqClient.emit(pattern, envelope): the pattern must be the envelope's type (${String(envelope?.type)}).`);
    }
    await this.enqueue([envelope]);
    return undefined as T;
  }

  protected publish(_packet: ReadPacket, _callback: (packet: WritePacket) => void): () => void {
    throw new Error(
      'BullMqClient carries events only (emit): modules talk through messages in their outboxes, never by waiting on each other. Publish a reply message instead.',
    );
  }
}
