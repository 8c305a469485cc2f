import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { contextFromTraceparent, tracer } from './tracing';

/** The route template Express matched (`/orders/:id`), or `unmatched` (a 404 before any route). */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/**
 * Express middleware: the request's server span. The HTTP instrumentation makes one when the SDK patched `http` before
 * it was loaded (main); otherwise (an app booted in a test) this starts it, as a child of an incoming `traceparent`.
 * Either way it is named after the route template once the response is sent.
 */
export function requestSpan(req: Request, res: Response, next: NextFunction): void {
  const instrumented = trace.getSpan(context.active());
  if (instrumented) {
    res.once('finish', () => {
      const route = routeOf(req);
      instrumented.updateName(`${req.method} ${route}`);
      instrumented.setAttribute('http.route', route);
    });
    return next();
  }
  const traceparent = req.headers.traceparent;
  const tracestate = req.headers.tracestate;
  const parent =
    typeof traceparent === 'string'
      ? contextFromTraceparent({ traceparent, ...(typeof tracestate === 'string' ? { tracestate } : {}) })
      : context.active();
  const span = tracer().startSpan(
    `${req.method}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
    parent,
  );
  const end = () => {
    const route = routeOf(req);
    span.updateName(`${req.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  res.once('finish', end);
  res.once('close', () => span.isRecording() && end());
  context.with(trace.setSpan(parent, span), next);
}
