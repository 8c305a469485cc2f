import { describeWithRedis } from '@app/platform';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { metricsOf, traceInMemory, traceOf } from './observability-fixture';
import { Shop, type Topology, bootExtractedTopology } from './saga-fixture';

const spans = traceInMemory();

describeWithRedis('observability of the extracted topology (billing over BullMQ)', (redisUrl) => {
  let topology: Topology;
  let shop: Shop;

  beforeAll(async () => {
    topology = await bootExtractedTopology({ redisUrl, saga: { stepTimeoutMs: 5_000, maxAttempts: 3, maxRetryDelayMs: 600 } });
    shop = new Shop(topology);
    await shop.item('obs-x-sku', 300, 50);
    await shop.customer('obs-x-customer', 50_000);
  });
  afterAll(async () => {
    await topology?.close();
  });

  it('keeps one trace across the BullMQ hop: billing handles the capture as a child of the publication in orders', async () => {
    const traceId = randomBytes(16).toString('hex');
    const res = await shop
      .http()
      .post('/orders')
      .set('Idempotency-Key', randomUUID())
      .set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`)
      .send({ customerId: 'obs-x-customer', lines: [{ sku: 'obs-x-sku', quantity: 1 }] })
      .expect(202);
    expect((await shop.settled(res.body.id as string)).status).toBe('CONFIRMED');

    const trace = traceOf(spans.getFinishedSpans(), traceId);
    const [server] = trace.named('POST /orders');
    expect(server).toBeDefined();
    const [processReserved] = trace.named('process inventory.stock-reserved.v1');
    const [publishCapture] = trace.named('publish billing.capture-payment.v1');
    expect(trace.parentOf(publishCapture)).toBe(processReserved);
    // the monolith's relay sends it to billing's queue; billing's worker handles it in billing's transaction
    const [sendCapture] = trace.named('send billing.capture-payment.v1');
    expect(trace.parentOf(sendCapture)).toBe(publishCapture);
    const [processCapture] = trace.named('process billing.capture-payment.v1');
    expect(trace.parentOf(processCapture)).toBe(publishCapture);
    // and back: billing's reply is published inside its handling and handled by orders in the monolith
    const [publishCaptured] = trace.named('publish billing.payment-captured.v1');
    expect(trace.parentOf(publishCaptured)).toBe(processCapture);
    const [processCaptured] = trace.named('process billing.payment-captured.v1');
    expect(trace.parentOf(processCaptured)).toBe(publishCaptured);
  });

  it("measures BullMQ: the peer queue's depth on the sender, the wait of jobs on the receiver, readiness with Redis", async () => {
    const monolith = topology.appOf('orders').app.getHttpServer();
    const billing = topology.appOf('billing').app.getHttpServer();
    const sent = metricsOf((await request(monolith).get('/metrics').expect(200)).text);
    expect(sent.find('bullmq_queue_jobs', { queue: 'billing', state: 'waiting' })).toHaveLength(1);
    expect(sent.find('bullmq_queue_oldest_waiting_age_seconds', { queue: 'billing' })).toHaveLength(1);
    expect(
      sent.find('messaging_deliveries_total', { module: 'orders', type: 'billing.capture-payment.v1', result: 'delivered' }),
    ).toHaveLength(1);
    const received = metricsOf((await request(billing).get('/metrics').expect(200)).text);
    expect(
      received.find('bullmq_job_wait_seconds_count', { queue: 'billing', type: 'billing.capture-payment.v1' })[0]?.value,
    ).toBeGreaterThan(0);
    expect(received.find('bullmq_queue_jobs', { queue: 'monolith', state: 'waiting' })).toHaveLength(1);
    expect(
      received.find('messaging_handler_duration_seconds_count', {
        module: 'billing',
        type: 'billing.capture-payment.v1',
        result: 'applied',
      }),
    ).toHaveLength(1);
    const ready = await request(monolith).get('/health/ready').expect(200);
    expect(ready.body.redis).toBe('ready');
  });
});
