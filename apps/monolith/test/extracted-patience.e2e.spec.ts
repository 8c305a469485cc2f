import { describeWithRedis, type Envelope, MESSAGE_TRANSPORT, type MessageTransport, TransportUnavailableError } from '@app/platform';
import { bootExtractedTopology, eventually, Shop, type Topology } from './saga-fixture';

/**
 * Billing extracted over BullMQ: while the transport cannot take the payment request (Redis away, as the BullMQ
 * transport reports it: TransportUnavailableError, the message waits in the outbox), the saga's deadlines do not run.
 */
describeWithRedis('the saga across the extracted topology, with the BullMQ transport down', (redisUrl) => {
  let topology: Topology;
  let shop: Shop;
  let redisAway = false;

  beforeAll(async () => {
    topology = await bootExtractedTopology({
      redisUrl,
      saga: { stepTimeoutMs: 150, reserveDeadlineMs: 450, paymentDeadlineMs: 450, maxRetryDelayMs: 300 },
    });
    shop = new Shop(topology);
    const transport = topology.appOf('orders').app.get<MessageTransport>(MESSAGE_TRANSPORT);
    const deliver = transport.deliver.bind(transport);
    jest
      .spyOn(transport, 'deliver')
      .mockImplementation((envelope: Envelope) =>
        redisAway && envelope.type === 'billing.capture-payment.v1'
          ? Promise.reject(new TransportUnavailableError('Redis is away (test)'))
          : deliver(envelope),
      );
    await shop.item('FAR-1', 250, 100);
    await shop.customer('far-1', 100_000);
  });
  afterAll(() => topology?.close());

  it('times nothing out while the payment request cannot leave, says billing is unreachable, and confirms once it is back', async () => {
    redisAway = true;
    const id = await shop.place('far-1', [{ sku: 'FAR-1', quantity: 2 }]);
    await eventually(async () => {
      const view = (await shop.http().get(`/orders/${id}`).expect(200)).body;
      expect(view.waiting).toMatchObject({ step: 'CAPTURING', on: ['billing'], state: 'UNREACHABLE' });
      expect(view.waiting.detail).toMatch(/^Waiting for billing, which is unreachable/);
    });
    await new Promise((r) => setTimeout(r, 1_000)); // longer than the re-send interval and the payment deadline
    const during = await shop.order(id);
    expect(during).toMatchObject({ status: 'PENDING' });
    expect(during.history.map((h) => h.event)).toEqual(['Order placed', 'Stock reserved']);

    redisAway = false;
    expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED', totalCents: 500 });
    expect(await shop.balance('far-1')).toBe(99_500);
  });
});
