import { OrdersModule } from '@app/orders';
import { FAST_MESSAGING, PinoNestLogger, ShutdownState, TEST_ADMIN_TOKEN, type TestApp, createTestApp } from '@app/platform';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { hostedModules } from '../src/app.module';
import { capturedLogger, metricsOf, traceInMemory, traceOf } from './observability-fixture';
import { Shop } from './saga-fixture';

const SAGA = { stepTimeoutMs: 5_000, maxAttempts: 3, maxRetryDelayMs: 600 };
const spans = traceInMemory();
const { logger, lines } = capturedLogger();

describe('observability of the monolith (metrics, traces, logs)', () => {
  let t: TestApp;
  let shop: Shop;

  beforeAll(async () => {
    t = await createTestApp(hostedModules({ modules: { orders: OrdersModule.forRoot({ saga: SAGA }) } }), undefined, FAST_MESSAGING, {
      observability: { logger, logRequests: true },
      logger: new PinoNestLogger(logger),
    });
    shop = new Shop(t);
    await shop.item('obs-sku', 250, 100);
    await shop.customer('obs-customer', 100_000);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('follows an order in one trace: the request, each publication through the outbox, each handling, and what handlers publish', async () => {
    const traceId = randomBytes(16).toString('hex');
    const res = await shop
      .http()
      .post('/orders')
      .set('Idempotency-Key', randomUUID())
      .set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`) // an incoming trace is continued
      .send({ customerId: 'obs-customer', lines: [{ sku: 'obs-sku', quantity: 2 }] })
      .expect(202);
    expect((await shop.settled(res.body.id as string)).status).toBe('CONFIRMED');

    const trace = traceOf(spans.getFinishedSpans(), traceId);
    const [server] = trace.named('POST /orders');
    expect(server).toBeDefined();
    // the request published the reserve command: its publish span is the request's child, the handling the publication's
    const [publishReserve] = trace.named('publish inventory.reserve-stock.v1');
    expect(trace.parentOf(publishReserve)).toBe(server);
    const [processReserve] = trace.named('process inventory.reserve-stock.v1');
    expect(trace.parentOf(processReserve)).toBe(publishReserve);
    expect(processReserve.attributes['monolith_first.consumer']).toBeDefined();
    const [sendReserve] = trace.named('send inventory.reserve-stock.v1');
    expect(trace.parentOf(sendReserve)).toBe(publishReserve);
    // a handler's publication continues the handler's span: inventory's reply, then orders' capture command, then billing
    const [publishReserved] = trace.named('publish inventory.stock-reserved.v1');
    expect(trace.parentOf(publishReserved)).toBe(processReserve);
    const [processReserved] = trace.named('process inventory.stock-reserved.v1');
    const [publishCapture] = trace.named('publish billing.capture-payment.v1');
    expect(trace.parentOf(publishCapture)).toBe(processReserved);
    const [processCapture] = trace.named('process billing.capture-payment.v1');
    expect(trace.parentOf(processCapture)).toBe(publishCapture);
    expect(trace.named('process billing.payment-captured.v1')).toHaveLength(1);
  });

  it('exports the metric families of HTTP, messaging, pools and the process, labelled by module and type', async () => {
    await shop.settled(await shop.place('obs-customer', [{ sku: 'obs-sku', quantity: 1 }]));
    const res = await request(t.app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const m = metricsOf(res.text);
    expect(
      m.find('http_request_duration_seconds_count', { method: 'POST', route: '/orders', status: '202' })[0]?.value,
    ).toBeGreaterThanOrEqual(2);
    expect(m.find('messaging_published_total', { module: 'orders', type: 'inventory.reserve-stock.v1' })[0]?.value).toBeGreaterThanOrEqual(
      2,
    );
    expect(m.find('messaging_relay_taken_total', { module: 'orders', how: 'handoff' })[0]?.value).toBeGreaterThan(0);
    expect(
      m.find('messaging_deliveries_total', { module: 'orders', type: 'billing.capture-payment.v1', result: 'delivered' }),
    ).toHaveLength(1);
    expect(m.find('messaging_delivery_duration_seconds_count', { module: 'inventory', type: 'inventory.stock-reserved.v1' })).toHaveLength(
      1,
    );
    const handled = m.find('messaging_handler_duration_seconds_count', {
      module: 'billing',
      type: 'billing.capture-payment.v1',
      result: 'applied',
    });
    expect(handled[0]?.value).toBeGreaterThanOrEqual(2);
    expect(handled[0]?.labels.consumer).toBeTruthy();
    for (const module of ['orders', 'inventory', 'billing']) {
      expect(m.find('messaging_outbox_oldest_pending_age_seconds', { module })).toHaveLength(1); // read at scrape time
      expect(m.find('db_pool_connections', { module, state: 'in_use' })).toHaveLength(1);
      expect(m.find('db_pool_connections', { module, state: 'waiting' })).toHaveLength(1);
      expect(m.find('db_transaction_duration_seconds_count', { module, kind: 'transaction' })[0]?.value).toBeGreaterThan(0);
    }
    // the saga's outcomes: orders finished by status and reason, time to CONFIRMED, compensations running (read at scrape)
    expect(m.find('orders_finished_total', { status: 'CONFIRMED', reason: '' })[0]?.value).toBeGreaterThanOrEqual(2);
    expect(m.find('orders_time_to_confirmed_seconds_count', {})[0]?.value).toBeGreaterThanOrEqual(2);
    expect(m.find('orders_compensations_running', {})[0]?.value).toBe(0);
    expect(m.families).toContain('nodejs_eventloop_lag_seconds');
    expect(m.families).toContain('nodejs_heap_size_used_bytes');
    expect(m.families).toContain('messaging_inbox_duplicates_total');
    expect(m.families).toContain('messaging_retries_total');
    expect(m.families).toContain('messaging_dead_lettered_total');
    expect(m.families).toContain('messaging_transport_unavailable_total');
  });

  it('reports per module: handler and database time, rates, and messages crossing its boundary per order placed', async () => {
    const res = await request(t.app.getHttpServer())
      .get('/admin/modules/report?hopMs=2&hopCpuMs=3')
      .set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
      .expect(200);
    const report = res.body as {
      operation: { count: number };
      modules: {
        module: string;
        handlerShare: number;
        inPerOperation: number;
        outPerOperation: number;
        extraction: { addedLatencyMs: number };
      }[];
    };
    expect(report.operation.count).toBeGreaterThanOrEqual(2);
    const billing = report.modules.find((r) => r.module === 'billing')!;
    // per confirmed order billing gets one capture command and answers once (plus copies if a step was re-sent)
    expect(billing.inPerOperation).toBeGreaterThanOrEqual(1);
    expect(billing.outPerOperation).toBeGreaterThanOrEqual(1);
    expect(billing.extraction.addedLatencyMs).toBeCloseTo((billing.inPerOperation + billing.outPerOperation) * 2, 0);
    expect(report.modules.reduce((sum, r) => sum + r.handlerShare, 0)).toBeCloseTo(1, 1);
    await request(t.app.getHttpServer()).get('/admin/modules/report').expect(401);
  });

  it('writes every line of a request with its request id and trace id, returns the id, and redacts credentials', async () => {
    const requestId = `obs-${randomUUID()}`;
    const res = await request(t.app.getHttpServer())
      .get('/orders/00000000-0000-7000-8000-000000000000')
      .set('X-Request-Id', requestId)
      .set('Authorization', 'Bearer secret-token-that-must-not-be-logged')
      .expect(404);
    expect(res.headers['x-request-id']).toBe(requestId);
    const ours = lines.filter((l) => l.requestId === requestId);
    expect(ours.length).toBeGreaterThan(0);
    const line = ours.find((l) => (l.req as { url?: string } | undefined)?.url);
    expect(line).toBeDefined();
    expect(line!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(lines)).not.toContain('secret-token-that-must-not-be-logged');
    expect((line!.req as { headers: Record<string, string> }).headers.authorization).toBe('***');
    // an id that is not sane (too long, or with spaces) is replaced by a generated one
    const generated = await request(t.app.getHttpServer()).get('/health/live').set('X-Request-Id', 'x'.repeat(129)).expect(200);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the request id in problem+json bodies', async () => {
    const requestId = `obs-${randomUUID()}`;
    const res = await request(t.app.getHttpServer()).post('/orders').set('X-Request-Id', requestId).send({}).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.requestId).toBe(requestId);
  });

  it('answers 503 on readiness while draining', async () => {
    await request(t.app.getHttpServer()).get('/health/ready').expect(200);
    t.app.get(ShutdownState).beginDrain();
    const res = await request(t.app.getHttpServer()).get('/health/ready').expect(503);
    expect(res.body.detail).toMatch(/Draining since/);
  });
});

describe('the metrics endpoint', () => {
  it('needs METRICS_TOKEN when one is set, and is gone with METRICS_ENABLED=false', async () => {
    const token = 'metrics-token-0123456789';
    const guarded = await createTestApp([], undefined, FAST_MESSAGING, { observability: { metrics: { token }, logRequests: false } });
    try {
      await request(guarded.app.getHttpServer()).get('/metrics').expect(401);
      await request(guarded.app.getHttpServer()).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789').expect(401);
      await request(guarded.app.getHttpServer()).get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      await guarded.close();
    }
    const off = await createTestApp([], undefined, FAST_MESSAGING, { observability: { metrics: { enabled: false }, logRequests: false } });
    try {
      await request(off.app.getHttpServer()).get('/metrics').expect(404);
    } finally {
      await off.close();
    }
  });
});
