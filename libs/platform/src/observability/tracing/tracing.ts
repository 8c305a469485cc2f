import { ROOT_CONTEXT, type Context, type Span, type TextMapGetter, context, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TraceContext } from '../../messaging/core/observer';

/** The tracer of everything the platform itself records (relays, handlers, requests without the HTTP instrumentation). */
export const TRACER_NAME = 'monolith-first';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

let started: NodeSDK | undefined;

export interface TracingOptions {
  /** Where spans go instead of the exporters named by OTEL_* (tests: a SimpleSpanProcessor over an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
  /** Database spans (pg instrumentation). Default: OTEL_INSTRUMENT_PG=true. */
  instrumentPg?: boolean;
}

/** Whether an exporter was asked for with the standard variables. */
export function exporterConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters) return exporters !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/**
 * Starts OpenTelemetry (call it before Nest, and before `http` and `pg` are used, so the instrumentations patch them).
 * Configured by the standard OTEL_* variables: it starts only when OTEL_TRACES_EXPORTER or
 * OTEL_EXPORTER_OTLP(_TRACES)_ENDPOINT names where spans go (or a test passes span processors); OTEL_SDK_DISABLED=true
 * keeps it off even then. Metrics and logs are not sent through OpenTelemetry: prom-client serves /metrics
 * and pino writes the logs, so their OTEL exporters default to none. Returns whether tracing runs.
 */
export function startTracing(options: TracingOptions = {}, env: NodeJS.ProcessEnv = process.env): boolean {
  if (started) return true;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  // Spans that go nowhere are not worth their cost: measured at about 2 ms of CPU per order (15 % of the monolith's
  // own), so without an exporter (or span processors given by a test) tracing stays off. Logs still carry the trace id
  // of the message being handled (from its envelope).
  if (!options.spanProcessors && !exporterConfigured(env)) return false;
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  env.OTEL_SERVICE_NAME ??= 'monolith-first';
  const instrumentPg = options.instrumentPg ?? env.OTEL_INSTRUMENT_PG?.trim().toLowerCase() === 'true';
  // Loaded only now: the SDK brings every exporter along (a second of start-up on a busy machine), which a process
  // with tracing off (OTEL_SDK_DISABLED=true, the tests) does not need.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { NoopSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const spanProcessors = options.spanProcessors ?? (exporterConfigured(env) ? undefined : [new NoopSpanProcessor()]);
  const sdk = new NodeSDK({
    ...(spanProcessors ? { spanProcessors } : {}),
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/metrics' || req.url?.startsWith('/health/') === true }),
      ...(instrumentPg ? [new PgInstrumentation({ requireParentSpan: true })] : []),
    ],
  });
  sdk.start();
  started = sdk;
  // The instrumentations patch prototypes when these are required next; the platform may have loaded them already
  // (main imports it first), so require them again now: from here on every server, client and pool is traced.
  for (const name of ['node:http', 'node:https', ...(instrumentPg ? ['pg', 'pg-pool'] : [])]) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the require itself is what applies the patch
    require(name);
  }
  return true;
}

/** Whether startTracing() ran in this process. */
export function tracingStarted(): boolean {
  return started !== undefined;
}

/** Exports what is buffered and stops (on shutdown, after the app has drained). */
export async function stopTracing(): Promise<void> {
  const sdk = started;
  started = undefined;
  await sdk?.shutdown();
}

const w3c = new W3CTraceContextPropagator();
const carrierGetter: TextMapGetter<TraceContext> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => (key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : undefined),
};

/** The remote span context an envelope (or an HTTP request's headers) carries, as a parent for new spans. */
export function contextFromTraceparent(carrier: TraceContext, base: Context = ROOT_CONTEXT): Context {
  return w3c.extract(base, carrier, carrierGetter);
}

/** A span's W3C trace context, to put in an envelope. */
export function traceContextOf(span: Span): TraceContext | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
    set: (c: Record<string, string>, key: string, value: string) => void (c[key] = value),
  });
  return carrier.traceparent
    ? { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) }
    : undefined;
}

/** The trace id of the active span, if it is a real one. */
export function activeTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  const ctx = span?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? ctx.traceId : undefined;
}
