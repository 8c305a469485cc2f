import { type Sample, createPino, parsePrometheusText, startTracing } from '@app/platform';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';

/** Spans of this test process, in memory (OpenTelemetry started as main starts it, with this processor instead of an exporter). */
export function traceInMemory(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return exporter;
}

/** A pino logger whose JSON lines are kept, parsed, for assertions. */
export function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createPino({
    format: 'json',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

/** The spans of one trace, and a way to walk from a span to its parent. */
export function traceOf(spans: readonly ReadableSpan[], traceId: string) {
  const ofTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map(ofTrace.map((s) => [s.spanContext().spanId, s]));
  return {
    spans: ofTrace,
    named: (name: string) => ofTrace.filter((s) => s.name === name),
    parentOf: (span: ReadableSpan) => (span.parentSpanContext ? byId.get(span.parentSpanContext.spanId) : undefined),
  };
}

/** Samples of a /metrics body, and the label sets seen for a family. */
export function metricsOf(text: string) {
  const samples: Sample[] = parsePrometheusText(text);
  return {
    samples,
    /** Every family declared (`# TYPE`), observed yet or not. */
    families: new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1])),
    find: (name: string, labels: Record<string, string>) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)),
  };
}
