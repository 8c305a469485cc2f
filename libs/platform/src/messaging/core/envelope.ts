import { z } from 'zod';
import { newId, randomHex } from './ids';

/** W3C Trace Context `traceparent`, version 00: version-traceid-parentid-flags, lower-case hex. */
const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** What travels with every message, whatever the transport. The payload is validated separately, by its contract. */
export const EnvelopeSchema = z.object({
  /** UUIDv7 (time-ordered). Stays the same when a message is re-sent or requeued: consumers dedupe by it. */
  id: z.uuid(),
  /** The contract's type, e.g. `inventory.reserve-stock.v1`. */
  type: z.string().min(1),
  /** The producing module. */
  source: z.string().min(1),
  /** Aggregate id; messages with the same key are delivered in commit order. */
  key: z.string().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
  /** The conversation this message belongs to (the first message's id unless given). */
  correlationId: z.string().min(1),
  /** Id of the message whose handling produced this one; null at the start of a conversation. */
  causationId: z.string().min(1).nullable(),
  traceparent: z.string().regex(TRACEPARENT, 'must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)'),
  tracestate: z.string().max(512).optional(),
  /** Not delivered before this instant (delayed delivery). */
  notBefore: z.iso.datetime({ offset: true }).optional(),
  payload: z.unknown(),
});

export type Envelope<P = unknown> = Omit<z.infer<typeof EnvelopeSchema>, 'payload'> & { payload: P };

export interface EnvelopeOptions {
  key: string;
  id?: string;
  correlationId?: string;
  causationId?: string | null;
  notBefore?: Date;
  /** The message being handled when this one is produced: supplies correlation, causation and trace. */
  cause?: Envelope;
  /** Trace context of the current request when there is no cause (e.g. from an HTTP `traceparent` header). */
  traceparent?: string;
  tracestate?: string;
}

export function createEnvelope<P>(source: string, type: string, payload: P, options: EnvelopeOptions): Envelope<P> {
  const id = options.id ?? newId();
  const cause = options.cause;
  const parent = cause?.traceparent ?? options.traceparent;
  const trace = childTraceparent(parent);
  return {
    id,
    type,
    source,
    key: options.key,
    occurredAt: new Date().toISOString(),
    correlationId: options.correlationId ?? cause?.correlationId ?? id,
    causationId: options.causationId !== undefined ? options.causationId : (cause?.id ?? null),
    traceparent: trace,
    // tracestate belongs to the trace: keep it only when the trace continues
    ...(trace.slice(3, 35) === parent?.slice(3, 35) && (cause?.tracestate ?? options.tracestate)
      ? { tracestate: cause?.tracestate ?? options.tracestate }
      : {}),
    ...(options.notBefore ? { notBefore: options.notBefore.toISOString() } : {}),
    payload,
  };
}

/**
 * A traceparent for a new span: same trace id and flags as the parent, a fresh span id. Without a valid
 * parent, a new trace starts (as W3C Trace Context says to do with a malformed header).
 */
export function childTraceparent(parent?: string): string {
  const match = parent ? TRACEPARENT.exec(parent) : null;
  const traceId = match ? match[1] : randomHex(16);
  const flags = match ? parent!.slice(-2) : '01';
  return `00-${traceId}-${randomHex(8)}-${flags}`;
}
