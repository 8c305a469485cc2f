import { type Span, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Envelope } from '../messaging/core/envelope';
import type { DeliveryResult, HandlingResult, MessagingObserver, RecordedOutcome, TraceContext } from '../messaging/core/observer';
import { withLogContext } from './logging/log-context';
import type { PlatformMetrics } from './metrics/platform-metrics';
import { contextFromTraceparent, traceContextOf, tracer } from './tracing/tracing';

/** Semantic-convention attributes of a message span. */
function messageAttributes(module: string, envelope: Envelope) {
  return {
    'messaging.system': 'outbox',
    'messaging.destination.name': envelope.type,
    'messaging.message.id': envelope.id,
    'messaging.message.conversation_id': envelope.correlationId,
    'monolith_first.module': module,
    'monolith_first.key': envelope.key,
  };
}

function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/**
 * The platform's MessagingObserver: prom-client metrics (when `metrics` is given) and OpenTelemetry spans (when
 * `tracing`): a publish span per outbox.add, a child of the active span (the request's, or the handler's that
 * publishes), whose context the envelope carries; a send span per relay delivery and a process span per consumer's
 * handling, both children of the envelope's context, so one trace follows a saga across outboxes and BullMQ.
 * Every log line of a handling carries the message id, its correlation id and the trace id.
 */
export class PlatformMessagingObserver implements MessagingObserver {
  constructor(
    private readonly metrics: PlatformMetrics | undefined,
    private readonly tracing: boolean,
  ) {}

  published(module: string, envelope: Envelope): TraceContext | undefined {
    this.metrics?.published.inc({ module, type: envelope.type });
    if (!this.tracing || !trace.getSpan(context.active())) return undefined; // no trace to continue: the envelope starts one
    const span = tracer().startSpan(`publish ${envelope.type}`, {
      kind: SpanKind.PRODUCER,
      attributes: messageAttributes(module, envelope),
    });
    span.end();
    return traceContextOf(span);
  }

  taken(module: string, how: 'handoff' | 'claim', count: number): void {
    this.metrics?.taken.inc({ module, how }, count);
  }

  delivering(module: string, envelope: Envelope): (result: DeliveryResult) => void {
    const started = performance.now();
    const span = this.tracing
      ? tracer().startSpan(
          `send ${envelope.type}`,
          { kind: SpanKind.PRODUCER, attributes: messageAttributes(module, envelope) },
          contextFromTraceparent(envelope),
        )
      : undefined;
    return (result) => {
      const labels = { module, type: envelope.type };
      this.metrics?.deliveryDuration.observe(labels, (performance.now() - started) / 1000);
      this.metrics?.deliveries.inc({ ...labels, result });
      if (span) {
        span.setAttribute('monolith_first.delivery', result);
        if (result !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, message: result });
        span.end();
      }
    };
  }

  recorded(module: string, type: string, outcome: RecordedOutcome): void {
    const counter = !this.metrics
      ? undefined
      : outcome === 'retry'
        ? this.metrics.retries
        : outcome === 'dead_letter'
          ? this.metrics.deadLettered
          : this.metrics.unavailable;
    counter?.inc({ module, type });
  }

  async handle(module: string, consumer: string, envelope: Envelope, run: () => Promise<HandlingResult>): Promise<HandlingResult> {
    const started = performance.now();
    const logContext = {
      messageId: envelope.id,
      messageType: envelope.type,
      consumer,
      correlationId: envelope.correlationId,
      traceId: traceIdOf(envelope.traceparent),
    };
    let span: Span | undefined;
    let handling: Promise<HandlingResult>;
    if (this.tracing) {
      const parent = contextFromTraceparent(envelope);
      span = tracer().startSpan(
        `process ${envelope.type}`,
        { kind: SpanKind.CONSUMER, attributes: { ...messageAttributes(module, envelope), 'monolith_first.consumer': consumer } },
        parent,
      );
      handling = context.with(trace.setSpan(parent, span), () => withLogContext(logContext, run));
    } else {
      handling = withLogContext(logContext, run);
    }
    const labels = { module, consumer, type: envelope.type };
    try {
      const result = await handling;
      this.metrics?.handlerDuration.observe({ ...labels, result }, (performance.now() - started) / 1000);
      if (result === 'duplicate') this.metrics?.duplicates.inc(labels);
      span?.setAttribute('monolith_first.inbox', result);
      return result;
    } catch (error) {
      this.metrics?.handlerDuration.observe({ ...labels, result: 'failed' }, (performance.now() - started) / 1000);
      if (span) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      }
      throw error;
    } finally {
      span?.end();
    }
  }

  dequeued(queue: string, type: string, waitedMs: number): void {
    this.metrics?.queueWait.observe({ queue, type }, Math.max(0, waitedMs) / 1000);
  }
}
