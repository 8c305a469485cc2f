import { HttpException } from '@nestjs/common';

/** Extra members of an RFC 9457 problem, e.g. `errors` for validation failures. */
export type ProblemExtensions = Record<string, unknown>;

/**
 * An HTTP error rendered as RFC 9457 problem+json. `type` is a short slug, published as
 * `https://monolith-first.dev/problems/<slug>`; `detail` tells a person what happened and what to do.
 */
export class Problem extends HttpException {
  constructor(
    status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly extensions: ProblemExtensions = {},
    /** Response headers that belong to the problem, e.g. `WWW-Authenticate` on a 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail, status);
  }

  /** 401 with an RFC 6750 `WWW-Authenticate: Bearer` challenge (`params`, e.g. `error="invalid_token"`, added to it). */
  static unauthorized(slug: string, detail: string, params?: string): Problem {
    return new Problem(401, slug, 'Unauthorized', detail, {}, { 'WWW-Authenticate': bearerChallenge(params) });
  }

  static badRequest(slug: string, detail: string, extensions?: ProblemExtensions): Problem {
    return new Problem(400, slug, 'Bad request', detail, extensions);
  }
  static notFound(slug: string, detail: string): Problem {
    return new Problem(404, slug, 'Not found', detail);
  }
  static conflict(slug: string, detail: string, extensions?: ProblemExtensions): Problem {
    return new Problem(409, slug, 'Conflict', detail, extensions);
  }
  static unprocessable(slug: string, detail: string, extensions?: ProblemExtensions): Problem {
    return new Problem(422, slug, 'Unprocessable content', detail, extensions);
  }
}

/** The challenge of every 401: the Bearer scheme (RFC 6750), with optional error parameters. */
export function bearerChallenge(params?: string): string {
  return `Bearer realm="monolith-first"${params ? `, ${params}` : ''}`;
}

export const PROBLEM_TYPE_BASE = 'https://monolith-first.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
