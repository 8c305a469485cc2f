import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { applyDecorators, type INestApplication } from '@nestjs/common';
import {
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiResponse,
  DocumentBuilder,
  type OpenAPIObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { z } from 'zod';
import { ADMIN_TOKEN_SCHEME, BEARER_SCHEME } from './auth/auth.decorators';
import { PROBLEM_CONTENT_TYPE } from './problem';

/** The OpenAPI 3.1 (JSON Schema 2020-12) form of a zod schema, so docs and validation never disagree. */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

/** Documents a JSON body with the same zod schema that validates it. */
export const ApiJsonBody = (schema: z.ZodType) => ApiBody({ schema: openApiSchema(schema) });

/** Documents a path parameter with the same zod schema that validates it. */
export const ApiPathParam = (name: string, schema: z.ZodType) => ApiParam({ name, schema: openApiSchema(schema) });

/** Documents the required Idempotency-Key header, as IdempotencyKeySchema enforces it. */
export const ApiIdempotencyKey = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: true,
    description:
      'A unique value per logical request (e.g. a UUID): 1–255 visible ASCII characters, surrounding white space and ' +
      'structured-field quotes removed. Repeating it with the same request returns the first response; with another request, 422; ' +
      "while the first is still running, 409. Keys are per caller (the token's issuer and subject) and kept for 24 hours " +
      '(IDEMPOTENCY_RETENTION_MS): after that, the key is a new request.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
  });

/** Documents an operation: its summary, its success response (with an optional zod schema) and the problems it can answer. */
export const ApiResult = (status: number, description: string, schema?: z.ZodType, problems: number[] = []) =>
  applyDecorators(
    ApiResponse({ status, description, ...(schema ? { schema: openApiSchema(schema) } : {}) }),
    ...problems.map((s) => ApiResponse({ status: s, description: PROBLEM_DESCRIPTIONS[s] ?? 'A problem' })),
  );

/** `@ApiSummary('Place an order')`: the one line an operation is listed with. */
export const ApiSummary = (summary: string, description?: string) => ApiOperation({ summary, ...(description ? { description } : {}) });

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or fails validation; `errors` lists each bad field',
  401: 'No valid credentials: send `Authorization: Bearer <token>`',
  403: 'The credentials do not allow this',
  404: 'Not found',
  409: 'Conflicts with the current state, or the same Idempotency-Key is still being processed',
  413: 'The body is larger than 100 kB',
  415: 'The body is not JSON',
  422: 'Well-formed, but breaks a rule (the problem says which)',
  500: 'Something went wrong on our side; nothing was changed',
  503: 'Not ready, or a dependency is unavailable',
};

/** Every 4xx and 5xx body: RFC 9457 problem details. */
export const ProblemSchema = z
  .object({
    type: z.url().describe('Identifies the kind of problem: https://monolith-first.dev/problems/<slug>'),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string().describe('What happened and what to do about it'),
    instance: z.string().optional().describe('The request path'),
    errors: z
      .array(z.object({ in: z.enum(['body', 'path', 'header', 'query']), field: z.string().optional(), message: z.string() }))
      .optional()
      .describe('Validation failures, one per bad field'),
    requestId: z.string().optional().describe("The request's id (X-Request-Id): quote it when reporting a problem, it finds the logs"),
  })
  .describe('RFC 9457 problem details');

const TAGS: Record<string, string> = {
  orders: 'Orders and their saga: reserve stock, capture payment, confirm; or compensate and cancel.',
  inventory: 'The catalogue, stock levels and the reservations of orders.',
  billing: 'Customer accounts on a double-entry ledger, and the payment of orders.',
  health: 'Liveness and readiness, for load balancers and orchestrators.',
  admin: 'Operators: dead letters and outbox statistics of the messaging, the module report (ADMIN_TOKEN).',
};

/**
 * The host's OpenAPI 3.1 document: the controllers' decorators plus what the server enforces everywhere (problem+json on
 * every 4xx/5xx, 413/415 on every body, 500 on every operation), the security schemes, tags and the package version.
 */
export function openApiDocument(app: INestApplication, title: string, description: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle(title)
    .setDescription(description)
    .setVersion(packageVersion())
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'The server that serves this document')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'A JWT (AUTH_MODE=jwt) signed with AUTH_JWT_SECRET (HS256) or a key of AUTH_JWKS_URL, with the `aud` AUTH_AUDIENCE, a `sub` ' +
          '(for a customer: their customerId) and an `exp`. Scopes come from its `scope` or `scp` claim. AUTH_MODE=off checks nothing.',
      },
      BEARER_SCHEME,
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN of the server: the admin scope.' }, ADMIN_TOKEN_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, config);
  const used = new Set(operations(document).flatMap((op) => op.tags ?? []));
  document.tags = [...used].sort().map((name) => ({ name, ...(TAGS[name] ? { description: TAGS[name] } : {}) }));
  return withProblemResponses(document);
}

type Operation = { tags?: string[]; requestBody?: unknown; responses: Record<string, { description: string; content?: unknown }> };

function operations(document: OpenAPIObject): Operation[] {
  const methods = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
  return Object.values(document.paths).flatMap((item) =>
    methods.map((m) => item[m] as Operation | undefined).filter((op) => op !== undefined),
  );
}

function withProblemResponses(document: OpenAPIObject): OpenAPIObject {
  document.components = { ...document.components, schemas: { ...document.components?.schemas, Problem: openApiSchema(ProblemSchema) } };
  const problem = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } };
  for (const op of operations(document)) {
    const statuses = [...(op.requestBody ? [400, 413, 415] : []), 500];
    for (const status of statuses) op.responses[status] ??= { description: PROBLEM_DESCRIPTIONS[status] };
    for (const [status, response] of Object.entries(op.responses)) if (Number(status) >= 400) response.content = problem;
  }
  return document;
}

/** The version in the nearest package.json up from here (the repository's, in src/ and in dist/). */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}
