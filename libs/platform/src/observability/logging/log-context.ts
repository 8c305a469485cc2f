import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while serving a request or handling a message carries. */
export interface LogContext {
  /** The request's X-Request-Id (honoured when sane, else generated). */
  requestId?: string;
  /** The conversation: a request's X-Correlation-Id (else its request id), a message's correlationId. */
  correlationId?: string;
  /** The message being handled, and by which consumer. */
  messageId?: string;
  messageType?: string;
  consumer?: string;
  /** A trace id known without an active span (the envelope's, when tracing is off). */
  traceId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** The context of the request or message being handled now, if any. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `ctx` as the log context of everything it does (its awaits included). */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return storage.run(ctx, fn);
}
