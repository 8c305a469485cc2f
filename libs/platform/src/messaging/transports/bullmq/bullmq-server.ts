import { BaseRpcContext, type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { DelayedError, type Job, type RedisOptions, UnrecoverableError, Worker } from 'bullmq';
import { lastValueFrom } from 'rxjs';
import type { DeliveryGate } from '../../core/delivery-gate';
import type { MessageDispatcher } from '../../core/dispatcher';
import { NonRetryableError, isDatabaseUnavailable, isNonRetryable } from '../../core/errors';
import type { HandlerRegistry } from '../../core/handlers';
import type { MessagingObserver } from '../../core/observer';
import { DEFAULT_JOB_POLICY } from './bullmq-client';

/** Transport id of the BullMQ strategy (Nest uses it in hooks and logs). */
export const BULLMQ_TRANSPORT = Symbol('BULLMQ_TRANSPORT');

/** The context a `@EventPattern` handler gets from this transport: the BullMQ job. */
export class BullMqContext extends BaseRpcContext<[Job]> {
  getJob(): Job {
    return this.args[0];
  }
}

export interface BullMqServerOptions {
  /** Worker connection (see workerConnection). */
  connection: RedisOptions;
  prefix: string;
  /** This host's queue (its name, e.g. `monolith` or `billing`). */
  queue: string;
  /** Jobs applied in parallel. Each is one consumer transaction; per-key order is not kept (docs/messaging.md, "Over BullMQ"). */
  concurrency?: number;
  /** How long a job's lock lasts (ms); a worker killed with its jobs leaves them for this long, then they run again. */
  lockMs?: number;
  /**
   * How often a job may be taken back from a worker that stopped renewing its lock before BullMQ fails it (and the
   * 'failed' handler records a dead letter). A backstop only: a job taken back is a suspect and runs alone first
   * (see process), and `maxSoloRuns` dead-letters one that kills the process.
   */
  maxStalledCount?: number;
  /** A job taken back after a worker died runs alone; if the process dies this many times while it runs alone, it is dead-lettered. */
  maxSoloRuns?: number;
  /** A suspect runs alone only once this worker has lived this long (ms): see RelayOptions.suspectAfterUptimeMs. */
  suspectAfterUptimeMs?: number;
  registry: HandlerRegistry;
  dispatcher: MessageDispatcher;
  /** The process's delivery gate (shared with the relays): a suspect runs with nothing else in flight. */
  gate: DeliveryGate;
  /**
   * Records a message whose retries are spent (or that can never succeed) as a dead letter of the consumer modules
   * that did not apply it, in their own databases. Rejects when it could not: the job then waits and runs again.
   */
  deadLetter(message: unknown, error: unknown, attempts: number): Promise<void>;
  /** How long to wait before trying again when recording a dead letter failed (ms). */
  deadLetterRetryMs?: number;
  /** Told how long each job waited in the queue. */
  observer?: MessagingObserver;
}

/**
 * A Nest microservices transport strategy that consumes this host's BullMQ queue. Its message handlers are the
 * modules' own `@HandleMessage` handlers: for every message type with a local handler it registers one event handler
 * (pattern = the stable type name) that calls `MessageDispatcher.deliver`, so each runs in its inbox transaction
 * exactly as in the monolith. `@EventPattern('<type>')` handlers of the app's controllers are called too.
 *
 * At least once, acknowledged after commit: a job completes only when every handler's transaction has committed.
 * A failing handler fails the job, which BullMQ retries with backoff (the producer's job options); on the last
 * attempt, or at once for a NonRetryableError or an invalid payload, the message is recorded as a dead letter of
 * the consuming module (its own database: the `messages` CLI and /admin/dead-letters manage it) and the job fails.
 * A job whose worker died (SIGKILL, OOM) is taken back once its lock expires and runs again (the inbox skips what
 * was already applied). A job of a type without a local handler completes at once: this host does not consume it.
 */
export class BullMqServer extends Server implements CustomTransportStrategy {
  override transportId = BULLMQ_TRANSPORT;
  /** Handler failures reach the worker, which retries the job (Nest would otherwise only log them). */
  override readonly propagatesEventHandlerErrors = true;
  private worker?: Worker;
  private lastErrorLog = 0;
  private settled: Promise<void> = Promise.resolve();
  private settle?: () => void;

  constructor(private readonly options: BullMqServerOptions) {
    super();
  }

  get queueName(): string {
    return this.options.queue;
  }

  listen(callback: (error?: Error) => void): void {
    for (const type of this.options.registry.types()) {
      this.addHandler(type, (envelope: unknown) => this.options.dispatcher.deliver(envelope), true);
    }
    const lockMs = this.options.lockMs ?? 30_000;
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
      setTimeout(resolve, this.options.suspectAfterUptimeMs ?? 5_000).unref();
    });
    const worker = new Worker(this.options.queue, (job, token) => this.process(job, token), {
      connection: this.options.connection,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency ?? 10,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: this.options.maxStalledCount ?? 10,
      // The producer's job options decide; these apply to jobs added without them.
      removeOnComplete: { age: DEFAULT_JOB_POLICY.keepCompletedSeconds, count: DEFAULT_JOB_POLICY.keepCompletedCount },
      removeOnFail: { age: DEFAULT_JOB_POLICY.keepFailedSeconds },
    });
    worker.on('error', (error) => {
      // Redis away: ioredis reconnects and the worker goes on by itself. Say so now and then, not every second.
      const now = Date.now();
      if (now - this.lastErrorLog < 10_000) return;
      this.lastErrorLog = now;
      this.logger.warn(`BullMQ worker of queue '${this.options.queue}': ${error.message}; it reconnects and goes on.`);
    });
    worker.on('failed', (job, error) => {
      // Failed without our processor deciding it: it stalled more than maxStalledCount times. Keep it anyway.
      if (job && /stalled more than/i.test(error.message)) {
        this.options.deadLetter(job.data, error, job.attemptsMade).catch((e: unknown) => {
          this.logger.error(`Job ${job.id} stalled too often and could not be recorded as a dead letter: ${String(e)}`);
        });
      }
    });
    this.worker = worker;
    worker.waitUntilReady().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Drains: takes no new job and waits for the running ones to commit (or fail) before resolving. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.settle?.();
    await worker?.close();
  }

  on(): never {
    throw new Error('BullMqServer has no events to subscribe to; listen to the worker (unwrap()) instead.');
  }

  unwrap<T>(): T {
    if (!this.worker) throw new Error('BullMqServer is not listening.');
    return this.worker as T;
  }

  /**
   * One job: every local handler of its type, each in its own transaction (the dispatcher's). A job BullMQ took back
   * from a worker that died (stalledCounter > 0) may be what killed it: it runs alone, marked in its progress first,
   * so that if the process dies again the next run knows it died alone, and after `maxSoloRuns` it becomes a dead
   * letter instead of a crash loop.
   */
  private async process(job: Job, token?: string): Promise<string> {
    const handler = this.getHandlerByPattern(job.name);
    if (!handler) return 'no local handler';
    if (job.attemptsMade === 0) this.options.observer?.dequeued(this.options.queue, job.name, Date.now() - job.timestamp);
    const soloRuns = (job.progress as { soloRuns?: number } | null)?.soloRuns ?? 0;
    const suspect = (job.stalledCounter ?? 0) > 0;
    if (suspect && soloRuns >= (this.options.maxSoloRuns ?? 2)) {
      const error = new NonRetryableError(
        `The process died while applying ${job.name} ${job.id} alone, ${soloRuns} time(s): it most likely crashes the process (an exit or an out-of-memory in a handler).`,
      );
      return this.fail(job, error, token);
    }
    const run = () => this.runHandlers(job, handler, token);
    if (!suspect) return this.options.gate.run(run);
    await this.settled; // only a process that has lived a while tells whether the job kills it
    return this.options.gate.solo(async () => {
      await job.updateProgress({ soloRuns: soloRuns + 1 });
      this.logger.warn(`Running ${job.name} ${job.id} alone: a worker died while it ran, and it may be why.`);
      return run();
    });
  }

  private async runHandlers(job: Job, handler: MessageHandler, token?: string): Promise<string> {
    try {
      for (let h: MessageHandler | undefined = handler; h; h = h.next as MessageHandler | undefined) {
        const result: unknown = await h(job.data, new BullMqContext([job]));
        await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
      }
      return 'applied';
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        // The consumer's database is away (a restart): wait without spending an attempt, like the relay does.
        await job.moveToDelayed(Date.now() + 1_000 + Math.round(Math.random() * 2_000), token);
        throw new DelayedError();
      }
      const attempts = job.attemptsMade + 1;
      if (!isNonRetryable(error) && attempts < (job.opts.attempts ?? 1)) {
        // It failed, so it did not kill the process: a later run need not count as a solo death.
        if ((job.progress as { soloRuns?: number } | null)?.soloRuns) await job.updateProgress({ soloRuns: 0 }).catch(() => undefined);
        throw error; // BullMQ retries it after a backoff
      }
      return this.fail(job, error, token);
    }
  }

  /** Records the dead letter in the consuming module's database, then fails the job for good. */
  private async fail(job: Job, error: unknown, token?: string): Promise<never> {
    const attempts = job.attemptsMade + 1;
    try {
      await this.options.deadLetter(job.data, error, attempts);
    } catch (recordError) {
      // Without the dead letter in PostgreSQL, failing the job would leave the message only in Redis: wait and run it again.
      this.logger.error(
        `Could not record ${job.name} ${job.id} as a dead letter (${String(recordError)}); it runs again in ${this.options.deadLetterRetryMs ?? 5_000} ms.`,
      );
      await job.moveToDelayed(Date.now() + (this.options.deadLetterRetryMs ?? 5_000), token);
      throw new DelayedError();
    }
    throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
  }
}
