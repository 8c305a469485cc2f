import { DeadLetters, type ModuleDb, TEST_ADMIN_TOKEN, type TestApp, createTestApp, moduleDbToken } from '@app/platform';
import { OrdersModule } from '@app/orders';
import { MAX_UNIT_PRICE_CENTS } from '@app/inventory/contracts';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { hostedModules } from '../src/app.module';
import { eventually } from './saga-fixture';

/** Sends raw bytes and reads the whole answer: status, headers and the parsed problem body. */
async function raw(
  port: number,
  bytes: string,
): Promise<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(bytes);
  });
  const [head, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n')) as Record<string, unknown> };
}

describe('bad input at the edge: a clear 4xx problem, nothing written', () => {
  let t: TestApp;
  let port: number;
  const http = () => request(t.app.getHttpServer());
  const ds = (module: string) => t.app.get<ModuleDb>(moduleDbToken(module));
  const count = async (module: string, table: string) => Number((await ds(module).query(`SELECT count(*) AS n FROM ${table}`))[0].n);
  const placeOrder = (lines: { sku: string; quantity: number }[], customerId = 'edge') =>
    http().post('/orders').set('Idempotency-Key', randomUUID()).send({ customerId, lines });

  beforeAll(async () => {
    t = await createTestApp(
      hostedModules({ modules: { orders: OrdersModule.forRoot({ saga: { stepTimeoutMs: 300, maxAttempts: 2, maxRetryDelayMs: 600 } }) } }),
    );
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  const expectFieldProblem = (res: request.Response, status: number, field: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'body', field })]));
  };

  describe('POST /inventory/items', () => {
    const item = (over: Record<string, unknown>) => ({ sku: 'EDGE-1', name: 'Edge', priceCents: 100, quantity: 1, ...over });
    it.each([
      ['a price above the integer column (3,000,000,000)', { priceCents: 3_000_000_000 }, 'priceCents'],
      ['a NUL character in the name', { name: 'mug\u0000' }, 'name'],
      ['an unpaired surrogate in the name', { name: 'mug\ud800' }, 'name'],
      ['a NUL character in the sku', { sku: 'A\u0000' }, 'sku'],
      ['a negative quantity', { quantity: -1 }, 'quantity'],
    ])('refuses %s with 400 naming the field', async (_label, over, field) => {
      expectFieldProblem(await http().post('/inventory/items').send(item(over)), 400, field);
      expect(await count('inventory', 'items')).toBe(0);
    });

    it('accepts the highest price the column holds, and trims the name', async () => {
      const res = await http()
        .post('/inventory/items')
        .send(item({ sku: 'TOP', name: '  Top  ', priceCents: MAX_UNIT_PRICE_CENTS }))
        .expect(201);
      expect(res.body).toMatchObject({ name: 'Top', priceCents: MAX_UNIT_PRICE_CENTS });
    });
  });

  describe('POST /orders: limits of the lines together answer 422 at once', () => {
    it('refuses two lines of one sku adding up to more than 1,000,000', async () => {
      const res = await placeOrder([
        { sku: 'TOP', quantity: 600_000 },
        { sku: 'TOP', quantity: 600_000 },
      ]);
      expectFieldProblem(res, 422, 'lines.1.quantity');
      expect(res.body.type).toMatch(/order-limits$/);
      expect(res.body.detail).toMatch(/lines of sku 'TOP' add up to more than 1,000,000/);
      expect(await count('orders', 'orders')).toBe(0);
    });

    it('refuses more items than keep the total exact at the highest price', async () => {
      const lines = Array.from({ length: 5 }, (_, i) => ({ sku: `S${i}`, quantity: 1_000_000 }));
      const res = await placeOrder(lines);
      expectFieldProblem(res, 422, 'lines');
      expect(res.body.detail).toMatch(/add up to 5,000,000 items; an order holds at most 4,194,304/);
      expect(await count('orders', 'orders')).toBe(0);
    });

    it('an order at the limits is priced exactly by inventory and declined by billing, nothing dead-lettered', async () => {
      for (let i = 0; i < 4; i++) {
        await http()
          .post('/inventory/items')
          .send({ sku: `MAX-${i}`, name: 'Max', priceCents: MAX_UNIT_PRICE_CENTS, quantity: 1_000_000 })
          .expect(201);
      }
      await http().post('/billing/accounts').send({ customerId: 'edge' }).expect(201);
      const placed = await placeOrder(Array.from({ length: 4 }, (_, i) => ({ sku: `MAX-${i}`, quantity: 1_000_000 }))).expect(202);
      let order: { status?: string } = {};
      await eventually(async () => {
        order = (await http().get(`/orders/${placed.body.id}`).expect(200)).body as { status: string };
        expect(order.status).toBe('CANCELLED');
      });
      expect(order).toMatchObject({ reason: 'PAYMENT_DECLINED', totalCents: 4_000_000 * MAX_UNIT_PRICE_CENTS });
      expect(await t.app.get(DeadLetters).list({ limit: 10, offset: 0 })).toEqual([]);
    });
  });

  it.each([
    ['a NUL in customerId', { customerId: 'a\u0000', lines: [{ sku: 'A', quantity: 1 }] }, 'customerId'],
    ['a NUL in a sku', { customerId: 'a', lines: [{ sku: 'A\u0000', quantity: 1 }] }, 'lines.0.sku'],
  ])('POST /orders refuses %s with 400', async (_label, body, field) => {
    expectFieldProblem(await http().post('/orders').set('Idempotency-Key', randomUUID()).send(body), 400, field);
  });

  it('refuses a body that is not JSON with 415 problem+json', async () => {
    const res = await http().post('/billing/accounts').set('Content-Type', 'application/x-www-form-urlencoded').send('customerId=form');
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 415, type: expect.stringMatching(/unsupported-media-type$/) });
    await http().get('/billing/accounts/form').expect(404);
  });

  it('bounds the admin paging (offset, limit)', async () => {
    const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    await http().get('/admin/dead-letters?offset=100001').set(admin).expect(400);
    await http().get('/admin/dead-letters?limit=501').set(admin).expect(400);
    await http().get('/admin/dead-letters?offset=100000&limit=500').set(admin).expect(200);
  });

  describe("requests Node's HTTP parser refuses get problem+json too (raw sockets)", () => {
    const expectProblem = (res: Awaited<ReturnType<typeof raw>>, status: number, slug: string, detail: RegExp) => {
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body).toMatchObject({
        status,
        type: expect.stringMatching(new RegExp(`${slug}$`)),
        detail: expect.stringMatching(detail),
      });
    };

    it('417 for an Expect other than 100-continue', async () => {
      const res = await raw(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n');
      expectProblem(res, 417, 'expectation-failed', /Expect: 200-ok/);
    });

    it('431 for headers over 16 kB', async () => {
      const res = await raw(port, `GET /health/live HTTP/1.1\r\nHost: x\r\nCookie: ${'c'.repeat(17 * 1024)}\r\n\r\n`);
      expectProblem(res, 431, 'headers-too-large', /16 kB/);
    });

    it('400 for Content-Length together with chunked encoding', async () => {
      const res = await raw(
        port,
        'POST /billing/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      );
      expectProblem(res, 400, 'malformed-request', /framing is ambiguous.*not both/);
    });

    it.each([
      ['a NUL', 'X-Bad: a\u0000b'],
      ['a bare CR', 'X-Bad: a\rb'],
      ['a LF inside a header name', 'X-B\nad: a'],
    ])('400 for %s in a header', async (_label, header) => {
      const res = await raw(port, `GET /health/live HTTP/1.1\r\nHost: x\r\n${header}\r\n\r\n`);
      expectProblem(res, 400, 'malformed-request', /not valid HTTP\/1.1/);
    });
  });
});
