import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE } from './problem';

/**
 * Requests that Node's HTTP layer (or the first middleware) refuses before Nest sees them would otherwise get an
 * empty body. These answer with the same RFC 9457 problem+json as every other error.
 */

interface RawProblem {
  status: number;
  slug: string;
  detail: string;
}

function problemJson({ status, slug, detail }: RawProblem, instance?: string): string {
  return JSON.stringify({
    type: PROBLEM_TYPE_BASE + slug,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...(instance ? { instance } : {}),
  });
}

/** What went wrong in the parser, for the caller. `reason` is llhttp's description, e.g. "Invalid header value char". */
function clientErrorProblem(error: NodeJS.ErrnoException & { reason?: string }): RawProblem {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        slug: 'headers-too-large',
        detail: `The request's headers add up to more than ${maxHeaderSize / 1024} kB. Send fewer or smaller headers (large cookies are the usual cause).`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        slug: 'payload-too-large',
        detail: 'The chunk extensions of the request body are too large. Send the body without them.',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, slug: 'request-timeout', detail: 'The request did not arrive in time. Send it again, without pauses.' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return {
        status: 400,
        slug: 'malformed-request',
        detail: `The request's framing is ambiguous (${(error.reason ?? 'Content-Length with Transfer-Encoding').toLowerCase()}). Send either Content-Length or Transfer-Encoding: chunked, not both.`,
      };
    default:
      return {
        status: 400,
        slug: 'malformed-request',
        detail: `The request is not valid HTTP/1.1${error.reason ? ` (${error.reason.toLowerCase()})` : ''}. Header names and values must not contain CR, LF or NUL characters.`,
      };
  }
}

/** Node's `clientError`: answer like Node would (same statuses, only when no response has started), with a problem body. */
function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const problem = clientErrorProblem(error);
  const body = problemJson(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** An `Expect` other than 100-continue: Node answers 417 itself unless someone listens to `checkExpectation`. */
function onCheckExpectation(req: IncomingMessage, res: ServerResponse): void {
  const problem = {
    status: 417,
    slug: 'expectation-failed',
    detail: `The server cannot meet 'Expect: ${req.headers.expect}'. Only 'Expect: 100-continue' is supported; send the request without it.`,
  };
  const body = problemJson(problem, req.url);
  res.writeHead(417, { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), Connection: 'close' }).end(body);
}

export function answerMalformedRequests(server: Server): void {
  server.on('clientError', onClientError);
  server.on('checkExpectation', onCheckExpectation);
}

/**
 * Express middleware: a body of another media type than JSON is refused with 415 before any parser reads it (every
 * endpoint takes JSON; the urlencoded parser would otherwise turn a form into strings the schemas then refuse).
 */
export function requireJsonBodies(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!hasBody || /^application\/([\w.+-]+\+)?json$/.test(type)) return next();
  const problem = {
    status: 415,
    slug: 'unsupported-media-type',
    detail: `The request body is ${type ? `'${type}'` : 'of no declared type'}; every endpoint takes JSON. Send it with Content-Type: application/json.`,
  };
  const body = problemJson(problem, req.url);
  res
    .writeHead(415, { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), Accept: 'application/json' })
    .end(body);
}
