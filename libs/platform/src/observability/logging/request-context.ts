import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { randomUUID } from 'node:crypto';
import { withLogContext } from './log-context';

/** An X-Request-Id or X-Correlation-Id worth honouring: 1 to 128 visible ASCII characters (no spaces, no control characters). */
const SANE_ID = /^[\x21-\x7e]{1,128}$/;

function saneHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && SANE_ID.test(value) ? value : undefined;
}

/** The request id of a request (set by requestContext). */
export function requestIdOf(req: Request): string | undefined {
  return (req as Request & { id?: string }).id;
}

export interface RequestContextOptions {
  logger: Logger;
  /** One line per request (method, route, status, duration), by pino-http. Off: no per-request line, the ids stay. */
  logRequests: boolean;
}

/**
 * Express middleware, first of all: the request id (X-Request-Id when sane, else a UUID; returned in the response),
 * the correlation id (X-Correlation-Id when sane, else the request id), both in the log context of everything the
 * request does; and, when asked, pino-http's line per request (headers redacted).
 */
export function requestContext(options: RequestContextOptions) {
  const httpLogger = options.logRequests
    ? pinoHttp({
        logger: options.logger,
        genReqId: (req) => (req as unknown as Request & { id: string }).id,
        quietReqLogger: true,
        customProps: (req) => ({ requestId: (req as unknown as { id?: string }).id }),
        customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
        autoLogging: { ignore: (req) => req.url === '/metrics' || req.url?.startsWith('/health/') === true },
      })
    : undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    const requestId = saneHeader(req.headers['x-request-id']) ?? randomUUID();
    const correlationId = saneHeader(req.headers['x-correlation-id']) ?? requestId;
    (req as Request & { id: string }).id = requestId;
    res.setHeader('X-Request-Id', requestId);
    withLogContext({ requestId, correlationId }, () => (httpLogger ? httpLogger(req, res, next) : next()));
  };
}
