import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Buckets (s) from a sub-millisecond in-process hop to a saga step that waited for its deadline. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every metric the platform exports, in a registry of the application's own (two apps in one test process do not
 * share one). Names follow Prometheus conventions: `_seconds`, `_total`, base units; labels stay bounded (module,
 * message type, consumer, route template, status), never an id.
 */
export class PlatformMetrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests served, by route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly published = new Counter({
    name: 'messaging_published_total',
    help: 'Messages added to an outbox (inside the producing transaction; rolled back ones included).',
    labelNames: ['module', 'type'] as const,
    registers: [this.registry],
  });

  readonly taken = new Counter({
    name: 'messaging_relay_taken_total',
    help: 'Messages a relay took: handed over after their commit (handoff, the hot path) or claimed by the backstop (claim).',
    labelNames: ['module', 'how'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'messaging_deliveries_total',
    help: 'Hand-overs of a message to its transport by a relay, by result (delivered, failed, unavailable).',
    labelNames: ['module', 'type', 'result'] as const,
    registers: [this.registry],
  });

  readonly deliveryDuration = new Histogram({
    name: 'messaging_delivery_duration_seconds',
    help: 'Time a relay waited for its transport to take a message (in process: every local handler committed; BullMQ: Redis acknowledged too).',
    labelNames: ['module', 'type'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly handlerDuration = new Histogram({
    name: 'messaging_handler_duration_seconds',
    help: "One consumer's inbox transaction for one message (its handler, its reads and writes, its commit), by result.",
    labelNames: ['module', 'consumer', 'type', 'result'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly duplicates = new Counter({
    name: 'messaging_inbox_duplicates_total',
    help: 'Copies of a message a consumer had applied already: skipped by its inbox.',
    labelNames: ['module', 'consumer', 'type'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'messaging_retries_total',
    help: 'Failed deliveries scheduled for a retry with backoff.',
    labelNames: ['module', 'type'] as const,
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'messaging_dead_lettered_total',
    help: 'Messages a relay dead-lettered (retries spent, non-retryable, or fatal to the process).',
    labelNames: ['module', 'type'] as const,
    registers: [this.registry],
  });

  readonly unavailable = new Counter({
    name: 'messaging_transport_unavailable_total',
    help: 'Deliveries postponed because the transport (Redis) or the database was unavailable; no attempt is counted.',
    labelNames: ['module', 'type'] as const,
    registers: [this.registry],
  });

  readonly outboxMessages = new Gauge({
    name: 'messaging_outbox_messages',
    help: 'Messages stored in an outbox at scrape time, by status (pending: waiting for delivery; scheduled: timers and delayed; dead: dead letters).',
    labelNames: ['module', 'type', 'status'] as const,
    registers: [this.registry],
  });

  readonly outboxLag = new Gauge({
    name: 'messaging_outbox_oldest_pending_age_seconds',
    help: "Age of the oldest pending message of a module's outbox at scrape time: the relay's lag (0 when none waits).",
    labelNames: ['module'] as const,
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'bullmq_queue_jobs',
    help: "Jobs in a peer host's BullMQ queue at scrape time, by state.",
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly queueOldestWaiting = new Gauge({
    name: 'bullmq_queue_oldest_waiting_age_seconds',
    help: "Age of the oldest job waiting in a peer host's BullMQ queue at scrape time (0 when none waits).",
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'bullmq_job_wait_seconds',
    help: "Time a job waited in this host's queue before its first run.",
    labelNames: ['queue', 'type'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly poolConnections = new Gauge({
    name: 'db_pool_connections',
    help: "A module's connection pool at scrape time: total, idle, in_use (checked out) and waiting (callers queued for a connection).",
    labelNames: ['module', 'state'] as const,
    registers: [this.registry],
  });

  readonly dbDuration = new Histogram({
    name: 'db_transaction_duration_seconds',
    help: "Time a module held a database connection for one unit of work (a transaction, a query, the relay's bookkeeping).",
    labelNames: ['module', 'kind'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // event-loop delay, heap, GC, handles: prom-client's process metrics
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
  }
}
