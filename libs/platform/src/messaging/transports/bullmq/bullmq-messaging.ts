import { type INestApplication, Logger, type OnApplicationShutdown, type OnModuleInit, type Provider } from '@nestjs/common';
import { DeliveryGate } from '../../core/delivery-gate';
import { MessageDispatcher } from '../../core/dispatcher';
import { EnvelopeSchema } from '../../core/envelope';
import { isNonRetryable } from '../../core/errors';
import { HandlerRegistry } from '../../core/handlers';
import type { MessagingObserver } from '../../core/observer';
import type { RelayOptions } from '../../core/relay-options';
import { DeadLetters, MessagingModules } from '../../operations/dead-letters';
import { BullMqClient, type BullMqJobPolicy } from './bullmq-client';
import { BullMqServer } from './bullmq-server';
import { producerConnection, workerConnection } from './redis';

/** MessagingModule.forRoot({ bullmq }): this process is one host among several that exchange messages over BullMQ. */
export interface BullMqMessagingOptions {
  /** This host's name (`monolith`, `billing`, ...): it consumes the queue of that name. */
  host: string;
  /** The hosts that get the messages produced here: all of them, or those of their route. */
  peers: readonly string[];
  /**
   * Per peer, the message types it consumes, when its host runs known modules (an extracted service: its module's
   * declared `consumes`). A peer with a route gets only those; one without gets every message (fan-out).
   */
  routes?: Readonly<Record<string, readonly string[]>>;
  redisUrl: string;
  /** Redis key prefix, shared by every host of one deployment (tests use a unique one per run). Default `mf`. */
  prefix?: string;
  /** Jobs this host applies in parallel. Default 10. */
  concurrency?: number;
  /** Job lock (ms); a killed worker's jobs run again after it. Default 30 s. */
  lockMs?: number;
  maxStalledCount?: number;
  /** Retention of finished jobs; attempts and backoff follow the relay's retry settings. */
  jobs?: Partial<Omit<BullMqJobPolicy, 'attempts' | 'backoffMs'>>;
}

const HOST_NAME = /^[a-z][a-z0-9_]{0,40}$/;

/** The BullMQ clients of this host's peers, connected at start and closed after everything else has stopped. */
export class BullMqPeers implements OnModuleInit, OnApplicationShutdown {
  readonly clients: BullMqClient[];

  constructor(options: BullMqMessagingOptions, relay: RelayOptions) {
    for (const name of [options.host, ...options.peers]) {
      if (!HOST_NAME.test(name)) throw new Error(`BullMQ host name '${name}' must match ${HOST_NAME} (it names a queue).`);
    }
    if (options.peers.includes(options.host)) throw new Error(`Host '${options.host}' lists itself among its peers.`);
    const strays = Object.keys(options.routes ?? {}).filter((peer) => !options.peers.includes(peer));
    if (strays.length > 0) throw new Error(`Routes name hosts that are not peers of '${options.host}': ${strays.join(', ')}.`);
    this.clients = options.peers.map(
      (queue) =>
        new BullMqClient({
          connection: producerConnection(options.redisUrl),
          prefix: options.prefix ?? 'mf',
          queue,
          jobs: { ...options.jobs, attempts: relay.retry.maxAttempts, backoffMs: relay.retry.baseMs },
        }),
    );
  }

  async onModuleInit(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.connect()));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/**
 * Records a message that failed for good on this host as a dead letter of each consumer module that has not applied
 * it (a module whose every consumer has an inbox row for it is done). A malformed envelope cannot be stored in an
 * outbox: it is logged and stays in the BullMQ failed set for `keepFailedSeconds`.
 */
export function consumerDeadLetters(registry: HandlerRegistry, modules: MessagingModules, deadLetters: DeadLetters, logger: Logger) {
  return async (message: unknown, error: unknown, attempts: number): Promise<void> => {
    const parsed = EnvelopeSchema.safeParse(message);
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (!parsed.success) {
      logger.error(`A job with a malformed envelope failed for good (${reason}); it stays in BullMQ's failed set only.`);
      return;
    }
    const envelope = parsed.data;
    const consumers = new Map<string, string[]>();
    for (const s of registry.subscriptionsFor(envelope.type)) consumers.set(s.module, [...(consumers.get(s.module) ?? []), s.consumer]);
    for (const [module, names] of consumers) {
      const applied = await modules.query<{ consumer: string }>(
        module,
        `SELECT consumer FROM "${module}".inbox WHERE message_id = $1 AND consumer = ANY($2::text[])`,
        [envelope.id, names],
      );
      if (applied.length === names.length) continue;
      if (await deadLetters.record(module, envelope, { attempts, error: reason })) {
        const why = isNonRetryable(error) ? 'a non-retryable error' : `${attempts} attempts`;
        logger.warn(
          `Dead-lettered ${envelope.type} ${envelope.id} (key ${envelope.key}) in ${module} after ${why}: ${reason.replace(/\.$/, '')}. ` +
            `Inspect it with 'messages dead-letters show ${module} ${envelope.id}', fix the cause, then requeue or purge it.`,
        );
      }
    }
  };
}

/** The providers MessagingModule.forRoot adds for BullMQ: the peers' clients and this host's transport strategy. */
export function bullMqProviders(options: BullMqMessagingOptions, relay: RelayOptions, observer?: MessagingObserver): Provider[] {
  return [
    { provide: BullMqPeers, useFactory: () => new BullMqPeers(options, relay) },
    {
      provide: BullMqServer,
      inject: [HandlerRegistry, MessageDispatcher, MessagingModules, DeadLetters, DeliveryGate],
      useFactory: (
        registry: HandlerRegistry,
        dispatcher: MessageDispatcher,
        modules: MessagingModules,
        deadLetters: DeadLetters,
        gate: DeliveryGate,
      ) =>
        new BullMqServer({
          connection: workerConnection(options.redisUrl),
          prefix: options.prefix ?? 'mf',
          queue: options.host,
          concurrency: options.concurrency,
          lockMs: options.lockMs,
          maxStalledCount: options.maxStalledCount,
          maxSoloRuns: relay.maxSoloRuns,
          suspectAfterUptimeMs: relay.suspectAfterUptimeMs,
          registry,
          dispatcher,
          gate,
          deadLetter: consumerDeadLetters(registry, modules, deadLetters, new Logger(`BullMq:${options.host}`)),
          observer,
        }),
    },
  ];
}

/**
 * Starts consuming this host's queue: connects the BullMQ strategy as a Nest microservice of the (hybrid) app and
 * starts it. Call after `app.init()` (or NestFactory.create) and before or after `listen()`; `app.close()` drains it.
 */
export async function connectBullMq(app: INestApplication): Promise<BullMqServer> {
  const strategy = app.get(BullMqServer, { strict: false });
  app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return strategy;
}
