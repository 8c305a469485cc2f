import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { requestIdOf } from '../observability/logging/request-context';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, Problem, bearerChallenge } from './problem';

const STATUS_SLUGS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  417: 'expectation-failed',
  422: 'unprocessable-content',
  429: 'too-many-requests',
  431: 'headers-too-large',
};

/** Renders every error as RFC 9457 problem+json. Unexpected errors become a 500 that leaks no internals. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const requestId = requestIdOf(req);
    // the request id lets a caller's report be found in the logs
    const body = { ...this.toProblem(exception, req), ...(requestId ? { requestId } : {}) };
    if (body.status >= 500)
      this.logger.error(`${req.method} ${req.originalUrl} failed`, exception instanceof Error ? exception.stack : String(exception));
    if (res.headersSent) return;
    if (exception instanceof Problem) res.set(exception.headers);
    // RFC 9110: every 401 names how to authenticate.
    if (body.status === 401 && !res.get('WWW-Authenticate')) res.set('WWW-Authenticate', bearerChallenge());
    res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  private toProblem(exception: unknown, req: Request): { status: number; [k: string]: unknown } {
    const instance = req.originalUrl;
    if (exception instanceof Problem) {
      return {
        type: PROBLEM_TYPE_BASE + exception.slug,
        title: exception.title,
        status: exception.getStatus(),
        detail: exception.detail,
        instance,
        ...exception.extensions,
      };
    }
    // Express's body parser errors reach us as HttpExceptions whose cause is the parser's error.
    const cause = exception instanceof HttpException ? (exception.cause as { type?: string } | undefined) : undefined;
    if (cause?.type === 'entity.parse.failed' || cause instanceof SyntaxError) {
      return {
        type: PROBLEM_TYPE_BASE + 'malformed-json',
        title: 'Bad request',
        status: 400,
        detail: 'The request body is not valid JSON. Send a JSON document with Content-Type: application/json.',
        instance,
      };
    }
    if (cause?.type === 'entity.too.large') {
      return {
        type: PROBLEM_TYPE_BASE + 'payload-too-large',
        title: 'Payload too large',
        status: 413,
        detail: 'The request body is too large. Send at most 100 kB.',
        instance,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const detail = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : exception.message;
      return { type: PROBLEM_TYPE_BASE + (STATUS_SLUGS[status] ?? 'error'), title: titleOf(status), status, detail, instance };
    }
    return {
      type: PROBLEM_TYPE_BASE + 'internal-error',
      title: 'Internal server error',
      status: 500,
      detail:
        'Something went wrong on our side and nothing was changed. Try again; if it keeps failing, report it with this request URL and time.',
      instance,
    };
  }
}

function titleOf(status: number): string {
  const name = HttpStatus[status];
  return name ? name.charAt(0) + name.slice(1).toLowerCase().replaceAll('_', ' ') : 'Error';
}
