import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { Observability } from '../observability/observability';
import { httpMetrics } from '../observability/metrics/http-metrics';
import { requestContext } from '../observability/logging/request-context';
import { requestSpan } from '../observability/tracing/request-span';
import { answerMalformedRequests, requireJsonBodies } from './malformed-requests';

/**
 * HTTP settings every host shares; call it before init(). Express's JSON parser limits bodies to 100 kB (413) and
 * accepts only objects/arrays; other media types are refused with 415; requests Node's parser refuses (400, 417, 431)
 * get problem+json too. With the platform's observability: request ids, request logs, server spans and request metrics.
 */
export function configureHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  const observability = observabilityOf(app);
  if (observability) {
    // first: every later line of the request, and its problem+json, know its request id
    express.use(requestContext({ logger: observability.logger, logRequests: observability.logRequests }));
    if (observability.tracing) express.use(requestSpan);
    if (observability.metrics) express.use(httpMetrics(observability.metrics));
  }
  express.use(requireJsonBodies);
  answerMalformedRequests(app.getHttpServer() as Server);
}

function observabilityOf(app: INestApplication): Observability | undefined {
  try {
    return app.get(Observability, { strict: false });
  } catch {
    return undefined; // an app without PlatformModule
  }
}
