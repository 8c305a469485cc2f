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
  ) {
    super(detail, status);
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

export const PROBLEM_TYPE_BASE = 'https://monolith-first.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
