import { FAST_MESSAGING, Idempotency, type ModuleDb, TEST_ADMIN_TOKEN, type TestApp, createTestApp, moduleDbToken } from '@app/platform';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { hostedModules } from '../src/app.module';

const SECRET = 'a-test-signing-secret-of-32-characters-or-more';
const AUDIENCE = 'monolith-first';
const ISSUER = 'https://id.example.test/';
const JWT_AUTH = { mode: 'jwt', jwtSecret: SECRET, audience: AUDIENCE, issuer: ISSUER, clockToleranceS: 5 } as const;

/** A real HS256 token, as an identity provider sharing AUTH_JWT_SECRET would sign it. */
async function token(
  sub: string,
  scope = '',
  {
    secret = SECRET,
    audience = AUDIENCE,
    issuer = ISSUER,
    expiresAt = '5m',
  }: { secret?: string; audience?: string; issuer?: string; expiresAt?: string | number } = {},
): Promise<string> {
  return new SignJWT({ ...(scope ? { scope } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));
}

const expectProblem = (res: request.Response, status: number, type: RegExp) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.stringMatching(type), detail: expect.any(String) });
};

describe('authentication (AUTH_MODE=jwt, HS256)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const bearer = (jwt: string) => ({ Authorization: `Bearer ${jwt}` });
  let ops: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp(hostedModules(), undefined, FAST_MESSAGING, { auth: JWT_AUTH });
    ops = bearer(await token('backoffice', 'billing:operator billing:deposit orders:operator inventory:operator'));
    for (const customerId of ['ada', 'bob']) await http().post('/billing/accounts').set(ops).send({ customerId }).expect(201);
  });
  afterAll(() => t.close());

  it('answers 401 problem+json with a Bearer challenge when no token is sent', async () => {
    const orderId = randomUUID();
    for (const req of [
      http().post('/billing/accounts/ada/deposits').set('Idempotency-Key', randomUUID()).send({ amountCents: 100 }),
      http().get('/billing/accounts/ada'),
      http()
        .post('/orders')
        .set('Idempotency-Key', randomUUID())
        .send({ customerId: 'ada', lines: [{ sku: 'A', quantity: 1 }] }),
      http().get(`/orders/${orderId}`),
      http().post(`/orders/${orderId}/cancel`).set('Idempotency-Key', randomUUID()),
      http().post('/inventory/items').send({ sku: 'X', name: 'x', priceCents: 1, quantity: 1 }),
      http().get('/billing/ledger/verification'),
    ]) {
      const res = await req;
      expectProblem(res, 401, /unauthorized$/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="monolith-first"/);
    }
  });

  it('lets anybody read the catalogue and the health endpoints', async () => {
    await http().get('/health/live').expect(200);
    expectProblem(await http().get('/inventory/items/NOPE'), 404, /unknown-sku$/);
  });

  it.each([
    ['an expired token', () => token('ada', '', { expiresAt: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['a token for another audience', () => token('ada', '', { audience: 'another-api' }), /aud/],
    ['a token from another issuer', () => token('ada', '', { issuer: 'https://evil.example.test/' }), /issued by/],
    ['a token signed with another secret', () => token('ada', '', { secret: 'x'.repeat(40) }), /signature/],
    [
      'an unsigned token (alg none)',
      () => Promise.resolve(`${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`),
      /algorithm|well-formed/,
    ],
    ['a string that is no JWT', () => Promise.resolve('not-a-jwt'), /well-formed/],
  ])('refuses %s with 401 invalid_token', async (_label, make, why) => {
    const res = await http()
      .get('/billing/accounts/ada')
      .set(bearer(await make()));
    expectProblem(res, 401, /invalid-token$/);
    expect(res.body.detail).toMatch(why);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  });

  it('refuses another scheme than Bearer', async () => {
    const res = await http().get('/billing/accounts/ada').set('Authorization', 'Basic YWRhOnB3');
    expectProblem(res, 401, /invalid-credentials$/);
  });

  it('lets a customer read their own balance, not another one (403), and an operator read any', async () => {
    const ada = bearer(await token('ada'));
    await http().get('/billing/accounts/ada').set(ada).expect(200, { customerId: 'ada', balanceCents: 0 });
    const res = await http().get('/billing/accounts/bob').set(ada);
    expectProblem(res, 403, /not-owner$/);
    expect(res.body.detail).toMatch(/billing:operator/);
    await http().get('/billing/accounts/bob').set(ops).expect(200);
  });

  it('needs the billing:deposit scope to deposit, even into your own account', async () => {
    const deposit = (headers: Record<string, string>) =>
      http().post('/billing/accounts/ada/deposits').set(headers).set('Idempotency-Key', randomUUID()).send({ amountCents: 5_000 });
    const res = await deposit(bearer(await token('ada')));
    expectProblem(res, 403, /insufficient-scope$/);
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="billing:deposit"/);
    await deposit(bearer(await token('payments', 'billing:deposit'))).expect(201, { balanceCents: 5_000 });
  });

  it('lets a customer place, read and cancel only their own orders; an operator any', async () => {
    const ada = bearer(await token('ada'));
    const bob = bearer(await token('bob'));
    const place = (headers: Record<string, string>, customerId: string) =>
      http()
        .post('/orders')
        .set(headers)
        .set('Idempotency-Key', randomUUID())
        .send({ customerId, lines: [{ sku: 'NONE', quantity: 1 }] });
    expectProblem(await place(ada, 'bob'), 403, /not-owner$/);
    const placed = await place(ada, 'ada').expect(202);
    const id = placed.body.id as string;
    await place(ops, 'bob').expect(202);

    await http().get(`/orders/${id}`).set(ada).expect(200);
    expectProblem(await http().get(`/orders/${id}`).set(bob), 403, /not-owner$/);
    await http().get(`/orders/${id}`).set(ops).expect(200);
    const cancel = (headers: Record<string, string>) =>
      http().post(`/orders/${id}/cancel`).set(headers).set('Idempotency-Key', randomUUID());
    expectProblem(await cancel(bob), 403, /not-owner$/);
    await cancel(ada).expect(202);
  });

  it('keeps the admin endpoints to ADMIN_TOKEN or a token with the admin scope', async () => {
    expectProblem(
      await http()
        .get('/billing/ledger/verification')
        .set(bearer(await token('ada'))),
      403,
      /insufficient-scope$/,
    );
    await http()
      .get('/billing/ledger/verification')
      .set(bearer(await token('ops', 'admin')))
      .expect(200);
    await http().get('/billing/ledger/verification').set(bearer(TEST_ADMIN_TOKEN)).expect(200);
    await http().get('/admin/outbox/stats').set(bearer(TEST_ADMIN_TOKEN)).expect(200);
    expectProblem(await http().get('/admin/outbox/stats'), 401, /unauthorized$/);
  });

  it("keeps each caller's Idempotency-Keys apart: the same key from two callers is two requests", async () => {
    const key = randomUUID();
    const place = async (customerId: string) =>
      (
        await http()
          .post('/orders')
          .set(bearer(await token(customerId)))
          .set('Idempotency-Key', key)
          .send({ customerId, lines: [{ sku: 'NONE', quantity: 1 }] })
          .expect(202)
      ).body.id as string;
    const ada = await place('ada');
    const bob = await place('bob'); // another body too: one caller's key would have answered 422
    expect(bob).not.toBe(ada);
    expect(await place('ada')).toBe(ada); // a repeat from the same caller replays
    const balance = async () => (await http().get('/billing/accounts/ada').set(ops).expect(200)).body.balanceCents as number;
    const before = await balance();
    const deposit = async (teller: string) =>
      http()
        .post('/billing/accounts/ada/deposits')
        .set(bearer(await token(teller, 'billing:deposit')))
        .set('Idempotency-Key', key)
        .send({ amountCents: 100 })
        .expect(201);
    await deposit('teller-1');
    await deposit('teller-1'); // replayed
    await deposit('teller-2'); // the same key from another caller: a deposit of its own
    expect((await balance()) - before).toBe(200);
  });
});

describe('Idempotency-Key retention', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await createTestApp(hostedModules());
    await http().post('/billing/accounts').send({ customerId: 'cy' }).expect(201);
  });
  afterAll(() => t.close());

  it('forgets a key after its retention: the prune deletes it, and the key then runs as a new request', async () => {
    const deposit = () => http().post('/billing/accounts/cy/deposits').set('Idempotency-Key', 'k-1').send({ amountCents: 100 });
    await deposit().expect(201);
    await deposit().expect(201); // replayed
    const billing = t.app.get<ModuleDb>(moduleDbToken('billing'));
    const orders = t.app.get<ModuleDb>(moduleDbToken('orders'));
    await orders.query(
      `INSERT INTO idempotency_keys (scope, principal, key, fingerprint, expires_at) VALUES ('x', '', 'live', 'f', now() + interval '1 hour')`,
    );
    expect(await t.app.get(Idempotency).prune()).toEqual({ billing: 0, orders: 0 }); // nothing has expired
    await billing.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second'`);
    expect(await t.app.get(Idempotency).prune()).toEqual({ billing: 1, orders: 0 });
    expect(await orders.query(`SELECT key FROM idempotency_keys`)).toEqual([{ key: 'live' }]);
    expect((await deposit().expect(201)).body).toEqual({ balanceCents: 200 });
  });
});

describe('authentication (AUTH_MODE=jwt with a JSON Web Key Set)', () => {
  let t: TestApp;
  let jwks: Server;
  let keys: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    keys = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    t = await createTestApp(hostedModules(), undefined, FAST_MESSAGING, {
      auth: { mode: 'jwt', jwksUrl, audience: AUDIENCE, clockToleranceS: 5 },
    });
  });
  afterAll(async () => {
    await t?.close();
    jwks?.closeAllConnections();
    jwks?.close();
  });

  it("accepts a token signed with the provider's key, and refuses an HS256 token (no key confusion)", async () => {
    const signed = await new SignJWT({ scope: 'billing:operator' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('ops')
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(keys.privateKey);
    const http = () => request(t.app.getHttpServer());
    const res = await http().get('/billing/accounts/nobody').set('Authorization', `Bearer ${signed}`);
    expectProblem(res, 404, /unknown-account$/); // authenticated and allowed: the account just does not exist
    const hs = await http()
      .get('/billing/accounts/nobody')
      .set('Authorization', `Bearer ${await token('ops', 'billing:operator')}`);
    expectProblem(hs, 401, /invalid-token$/);
  });
});

describe('authentication (AUTH_MODE=off, the development default)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await createTestApp(hostedModules());
  });
  afterAll(() => t.close());

  it('checks no token on business endpoints, but keeps the ledger verification to ADMIN_TOKEN', async () => {
    await http().post('/billing/accounts').send({ customerId: 'dev' }).expect(201);
    await http().get('/billing/accounts/dev').expect(200);
    const res = await http().get('/billing/ledger/verification');
    expectProblem(res, 401, /unauthorized$/);
    expect(res.body.detail).toMatch(/ADMIN_TOKEN/);
    await http().get('/billing/ledger/verification').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200);
  });
});
