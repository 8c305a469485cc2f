import type { Logger } from 'pino';
import { type MessagingObserver, NO_MESSAGING_OBSERVER } from '../messaging/core/observer';
import { createPino } from './logging/pino-logger';
import { PlatformMessagingObserver } from './messaging-observer';
import { PlatformMetrics } from './metrics/platform-metrics';
import type { ScrapeCollector } from './metrics/scrape-collectors';
import { tracingStarted } from './tracing/tracing';

export interface ObservabilityOptions {
  /** `GET /metrics` (default on); with a token, scrapes need `Authorization: Bearer <token>` (METRICS_TOKEN). */
  metrics?: { enabled?: boolean; token?: string; defaultMetrics?: boolean };
  /** Spans of requests, publications, deliveries and handlings. Default: whether startTracing() ran in this process. */
  tracing?: boolean;
  /** One log line per request (LOG_REQUESTS, default on). */
  logRequests?: boolean;
  /** The process's pino logger (createLogger's); default a JSON one on stdout. */
  logger?: Logger;
}

/**
 * The observability of one application, made before Nest builds it (the messaging core needs its observer at
 * construction): the metrics registry, whether tracing runs, the messaging observer, the request logger. With
 * metrics and tracing off the observer is the core's no-op one.
 */
export class Observability {
  readonly metrics?: PlatformMetrics;
  readonly tracing: boolean;
  readonly messagingObserver: MessagingObserver;
  readonly metricsToken?: string;
  readonly logRequests: boolean;
  readonly logger: Logger;
  /** Gauges the modules read at scrape time (see ModuleMetrics). */
  readonly collectors: ScrapeCollector[] = [];

  constructor(options: ObservabilityOptions = {}) {
    const metricsOn = options.metrics?.enabled ?? true;
    this.metrics = metricsOn ? new PlatformMetrics({ defaultMetrics: options.metrics?.defaultMetrics }) : undefined;
    this.metricsToken = options.metrics?.token;
    this.tracing = options.tracing ?? tracingStarted();
    this.logRequests = options.logRequests ?? true;
    this.logger = options.logger ?? createPino({ format: 'json' });
    this.messagingObserver =
      this.metrics || this.tracing ? new PlatformMessagingObserver(this.metrics, this.tracing) : NO_MESSAGING_OBSERVER;
  }
}
