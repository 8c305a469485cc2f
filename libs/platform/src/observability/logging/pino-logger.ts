import type { LogLevel, LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { activeTraceId } from '../tracing/tracing';
import { currentLogContext } from './log-context';
import { REDACTED_PATHS, scrubSecrets } from './redaction';

export interface PinoLoggerOptions {
  /** `json`: one JSON object per line (production); `pretty`: pino-pretty when it is installed (a dev dependency), else JSON. */
  format: 'json' | 'pretty';
  /** Lowest level written (pino's: trace, debug, info, warn, error, fatal). Default `info`. */
  level?: string;
  /** Where lines go (default: stdout, written synchronously so nothing is lost when the process exits). */
  destination?: DestinationStream;
}

/** pino-pretty as a synchronous stream, when it is installed (not in a production image: it is a dev dependency). */
function prettyStream(): DestinationStream | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional: present in development only
    const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
    return pretty({ colorize: Boolean(process.stdout.isTTY), sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

/** The fields of the request or message being handled, and the active trace id, on every line. */
function contextFields(): Record<string, string> {
  const ctx = currentLogContext();
  const traceId = activeTraceId() ?? ctx?.traceId;
  if (!ctx && !traceId) return {};
  const fields: Record<string, string> = {};
  if (ctx)
    for (const [k, v] of Object.entries(ctx) as [string, string | undefined][]) if (v !== undefined && k !== 'traceId') fields[k] = v;
  if (traceId) fields.traceId = traceId;
  return fields;
}

/** The process's pino logger: secrets redacted, the request or message context and trace id mixed into each line. */
export function createPino(options: PinoLoggerOptions): Logger {
  const destination =
    options.destination ?? (options.format === 'pretty' ? prettyStream() : undefined) ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      messageKey: 'message', // the key the log's readers (tests, drills, log pipelines) have always had
      redact: { paths: REDACTED_PATHS, censor: '***' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: contextFields,
      hooks: {
        logMethod(args, method) {
          // connection strings (DATABASE_URL, REDIS_URL) and bearer tokens in messages lose their secret part
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    destination,
  );
}

const NEST_TO_PINO: Record<LogLevel, Level> = {
  verbose: 'trace',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

const STACK = /\n\s+at /;

/**
 * Nest's LoggerService over pino: Nest's own lines and every `new Logger(context)` of the platform and the modules
 * go through it, so they carry the same fields (context, request id, correlation id, trace id) as request logs.
 */
export class PinoNestLogger implements LoggerService {
  private enabled?: Set<LogLevel>;

  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest's `logger: ['error', 'warn']` option. */
  setLogLevels(levels: LogLevel[]): void {
    this.enabled = new Set(levels);
  }

  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    if (this.enabled && !this.enabled.has(level)) return;
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    // Nest passes the context last; error() may pass a stack before it
    const last = rest[rest.length - 1];
    if (typeof last === 'string' && !(level === 'error' && rest.length === 1 && STACK.test(last))) fields.context = rest.pop();
    else if (last === undefined && rest.length > 0) rest.pop();
    for (const p of rest) {
      if (typeof p === 'string' && STACK.test(p)) fields.stack = p;
      else if (p instanceof Error) fields.err = p;
      else if (p !== undefined) fields.detail = p;
    }
    const pinoLevel = NEST_TO_PINO[level];
    if (message instanceof Error) this.pino[pinoLevel]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.pino[pinoLevel]({ ...fields, ...message });
    else this.pino[pinoLevel](fields, String(message));
  }
}
