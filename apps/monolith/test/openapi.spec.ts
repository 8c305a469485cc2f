import { BillingModule } from '@app/billing';
import { type TestApp, createTestApp, serveOpenApi } from '@app/platform';
import SwaggerParser from '@apidevtools/swagger-parser';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { hostedModules } from '../src/app.module';

type Operation = {
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
};

const operations = (document: Record<string, unknown>) =>
  Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([route, item]) =>
    Object.entries(item).map(([method, op]) => ({ at: `${method.toUpperCase()} ${route}`, op })),
  );

/** The document each host serves at /docs-json: the monolith, and billing booted alone (as its extracted service is). */
describe.each([
  ['the monolith', () => hostedModules()],
  ['the billing service', () => [BillingModule]],
])('the OpenAPI document of %s', (_host, modules) => {
  let t: TestApp;
  let document: Record<string, unknown>;

  beforeAll(async () => {
    t = await createTestApp(modules(), undefined, undefined, {
      beforeInit: (app) => serveOpenApi(app, 'Monolith-First', 'The API, as the host serves it.'),
    });
    document = (await request(t.app.getHttpServer()).get('/docs-json').expect(200)).body as Record<string, unknown>;
  });
  afterAll(() => t.close());

  it('is valid OpenAPI 3.1 for @apidevtools/swagger-parser', async () => {
    expect(document.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('has no error for @redocly/openapi-core (recommended rules); only the health checks have no 4xx (a warning)', async () => {
    const problems = await lintFromString({
      source: JSON.stringify(document),
      absoluteRef: 'docs-json.json',
      config: await createConfig({ extends: ['recommended'] }),
    });
    const found = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}`);
    expect(found.filter((p) => !p.startsWith('warn operation-4xx-response #/paths/~1health'))).toEqual([]);
  });

  it("names the package's version, a server, the security schemes and a described tag for every operation", () => {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string };
    expect(document.info).toMatchObject({ version: pkg.version });
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    const schemes = (document.components as { securitySchemes: Record<string, unknown> }).securitySchemes;
    expect(schemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, adminToken: { scheme: 'bearer' } });
    const tags = (document.tags as { name: string; description?: string }[]).map((tag) => tag.name);
    expect(tags).toEqual(expect.arrayContaining(['health', 'admin', 'billing']));
    for (const { at, op } of operations(document)) {
      expect([at, op.summary]).toEqual([at, expect.any(String)]);
      expect([at, op.tags?.every((tag) => tags.includes(tag))]).toEqual([at, true]);
      expect([at, op.security]).toEqual([at, expect.any(Array)]);
    }
  });

  it('gives every 4xx and 5xx the problem+json schema, and every body 413 and 415', () => {
    for (const { at, op } of operations(document)) {
      const statuses = Object.keys(op.responses);
      expect([at, statuses]).toEqual([at, expect.arrayContaining(['500', ...(op.requestBody ? ['400', '413', '415'] : [])])]);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        expect([at, status, op.responses[status].content]).toEqual([
          at,
          status,
          { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        ]);
      }
    }
  });

  it('documents what the server enforces: the Idempotency-Key, the scopes, the admin token', () => {
    const ops = Object.fromEntries(operations(document).map(({ at, op }) => [at, op]));
    const deposit = ops['POST /billing/accounts/{customerId}/deposits'];
    expect(deposit.parameters).toContainEqual(
      expect.objectContaining({
        name: 'Idempotency-Key',
        in: 'header',
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
      }),
    );
    expect(deposit.security).toEqual([{ bearer: ['billing:deposit'] }]);
    expect(ops['GET /billing/ledger/verification'].security).toEqual([{ adminToken: [] }, { bearer: ['admin'] }]);
    expect(ops['GET /admin/dead-letters'].security).toEqual([{ adminToken: [] }]);
    expect(ops['GET /admin/dead-letters'].parameters).toContainEqual(
      expect.objectContaining({ name: 'offset', schema: expect.objectContaining({ maximum: 100_000 }) }),
    );
    expect(ops['GET /health/live'].security).toEqual([{}]);
    expect(ops['GET /billing/accounts/{customerId}'].responses).toHaveProperty('401');
  });
});

describe('the OpenAPI document of the monolith: inventory', () => {
  it('documents trimmed names and the price ceiling of the integer column', async () => {
    const t = await createTestApp(hostedModules(), undefined, undefined, { beforeInit: (app) => serveOpenApi(app, 'M', 'd') });
    try {
      const document = (await request(t.app.getHttpServer()).get('/docs-json').expect(200)).body as Record<string, unknown>;
      const create = operations(document).find(({ at }) => at === 'POST /inventory/items')!.op as unknown as {
        requestBody: { content: { 'application/json': { schema: { properties: Record<string, Record<string, unknown>> } } } };
      };
      const props = create.requestBody.content['application/json'].schema.properties;
      expect(props.name).toMatchObject({ maxLength: 200, description: expect.stringMatching(/white space is removed/) });
      expect(props.priceCents).toMatchObject({ type: 'integer', maximum: 2_147_483_647 });
    } finally {
      await t.close();
    }
  });
});
