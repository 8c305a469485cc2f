import {
  type Envelope,
  MessageDispatcher,
  NonRetryableError,
  type TestApp,
  TEST_ADMIN_TOKEN,
  TransportUnavailableError,
} from '@app/platform';
import { main as ordersCli } from '../src/orders-cli';
import { bootMonolith, eventually, Shop } from './saga-fixture';

/**
 * The saga's patience, parking and replies on the monolith (real PostgreSQL). The transport to a module is made
 * unreachable, or a message is lost, by intercepting the one dispatcher every transport delivers through.
 */
describe('the order saga: patience from delivery, parking for attention, replies re-emitted', () => {
  let t: TestApp;
  let shop: Shop;
  /** type → what happens to a delivery of that type instead of the real one (undefined: delivered). */
  const intercept = new Map<string, (e: Envelope) => Error | undefined>();

  beforeAll(async () => {
    // re-send every 150 ms; the reservation gives up after 450 ms of waiting counted from delivery; a compensation
    // is sent twice before the order is parked
    t = await bootMonolith(undefined, {
      stepTimeoutMs: 150,
      reserveDeadlineMs: 450,
      paymentDeadlineMs: 450,
      maxRetryDelayMs: 300,
      compensationAttempts: 2,
    });
    shop = new Shop(t);
    const dispatcher = t.app.get(MessageDispatcher);
    const deliver = dispatcher.deliver.bind(dispatcher);
    jest.spyOn(dispatcher, 'deliver').mockImplementation((message: unknown) => {
      const envelope = message as Envelope;
      const error = intercept.get(envelope.type)?.(envelope);
      return error ? Promise.reject(error) : deliver(message);
    });
    await shop.item('PAT-1', 100, 1_000);
    await shop.customer('pat-1', 1_000_000);
  });
  afterEach(() => intercept.clear());
  afterAll(() => t.close());

  const admin = () => ({
    get: (p: string) => shop.http().get(p).auth(TEST_ADMIN_TOKEN, { type: 'bearer' }),
    post: (p: string) => shop.http().post(p).auth(TEST_ADMIN_TOKEN, { type: 'bearer' }),
  });
  const events = async (id: string) => (await shop.order(id)).history.map((h) => h.event);

  it('does not count the time a command waits for an unreachable transport: the view says so, and the order completes once it is back', async () => {
    intercept.set('inventory.reserve-stock.v1', () => new TransportUnavailableError('inventory is unreachable (test)'));
    const id = await shop.place('pat-1', [{ sku: 'PAT-1', quantity: 1 }]);
    // far longer than the re-send interval and the reservation deadline, on the wall clock
    await eventually(async () => {
      const view = (await shop.http().get(`/orders/${id}`).expect(200)).body;
      expect(view.waiting).toMatchObject({ step: 'RESERVING', on: ['inventory'], state: 'UNREACHABLE' });
      expect(view.waiting.detail).toMatch(/^Waiting for inventory, which is unreachable: the request has not been delivered for /);
    });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await shop.order(id)).toMatchObject({ status: 'PENDING' });
    expect(await events(id)).toEqual(['Order placed']); // no re-send, no timeout while undelivered

    intercept.clear();
    expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED' });
  });

  it('re-emits a lost reply: the re-sent command is a duplicate to inventory, which answers it again from its reservation', async () => {
    let lost = 0;
    intercept.set('inventory.stock-reserved.v1', () => (lost++ === 0 ? new NonRetryableError('the reply is lost (test)') : undefined));
    const id = await shop.place('pat-1', [{ sku: 'PAT-1', quantity: 2 }]);
    expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED', totalCents: 200 });
    expect(lost).toBeGreaterThanOrEqual(2); // the dead-lettered first reply, then the one a duplicate re-emitted
    expect(await events(id)).toContain('No answer yet');
    const dead = await shop.topology.deadLetters();
    expect(dead.some((d) => d.module === 'inventory')).toBe(true);
  });

  it('parks an order whose compensation is never answered, lists it for admins, and resumes it on retry', async () => {
    // delivered (dead-lettered) but never answered: the deadlines run; the reservation times out, the release is
    // re-sent, then the order is parked
    intercept.set('inventory.reserve-stock.v1', () => new NonRetryableError('inventory cannot reserve (test)'));
    intercept.set('inventory.release-stock.v1', () => new NonRetryableError('inventory cannot release (test)'));
    const id = await shop.place('pat-1', [{ sku: 'PAT-1', quantity: 1 }]);
    await eventually(async () => expect((await shop.order(id)) as { attention?: unknown }).toHaveProperty('attention'));

    const view = (await shop.http().get(`/orders/${id}`).expect(200)).body;
    expect(view).toMatchObject({
      status: 'PENDING',
      attention: { step: 'COMPENSATING', reason: 'No answer from inventory to give back the reserved stock after 2 attempts' },
      cancellation: { state: 'IN_PROGRESS', reason: 'TIMED_OUT' },
    });
    expect(view).not.toHaveProperty('waiting');
    expect(view.history.at(-1)).toMatchObject({ event: 'Needs attention' });

    await shop.http().get('/admin/orders/attention').expect(401);
    const listed = (await admin().get('/admin/orders/attention').expect(200)).body;
    expect(listed.items).toContainEqual(expect.objectContaining({ id, status: 'PENDING', awaiting: ['ReleaseStock'] }));
    await admin().get('/admin/orders/attention?limit=0').expect(400);

    // the operators' CLI lists it through the admin API of the running app
    await t.app.listen(0, '127.0.0.1');
    const out: string[] = [];
    const io = { out: (text: string) => void out.push(text), err: (text: string) => void out.push(text) };
    const env = { ADMIN_TOKEN: TEST_ADMIN_TOKEN };
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    expect(await ordersCli(['--url', url, '--json', 'attention'], env, io)).toBe(0);
    expect(JSON.parse(out.join(''))).toContainEqual(
      expect.objectContaining({ id, attention: expect.objectContaining({ step: 'COMPENSATING' }) }),
    );

    intercept.clear();
    out.length = 0;
    expect(await ordersCli(['--url', url, 'retry', id], env, io)).toBe(0);
    expect(out.join('')).toBe(`Order ${id} resumed; follow it with GET /orders/${id}.\n`);
    expect(await shop.settled(id)).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT' });
    expect(await events(id)).toContain('Retry requested');
    out.length = 0;
    expect(await ordersCli(['--url', url, 'retry', id], env, io)).toBe(1);
    expect(out.join('')).toMatch(/failed with 409: Order .* is not parked for attention/);
    const again = await admin().post(`/admin/orders/${id}/retry`).expect(409);
    expect(again.body).toMatchObject({ status: 409, detail: expect.stringMatching(/is not parked for attention/) });
    await admin().post('/admin/orders/0190a5e0-0000-7000-8000-000000000000/retry').expect(404);
    expect((await admin().get('/admin/orders/attention').expect(200)).body.items).not.toContainEqual(expect.objectContaining({ id }));
  });

  it('shows the cancellation of a confirmed order as in progress until the refund lands', async () => {
    const id = await shop.place('pat-1', [{ sku: 'PAT-1', quantity: 1 }]);
    expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED' });
    await eventually(async () => expect(await events(id)).toContain('Stock committed'));
    intercept.set('billing.refund-payment.v1', () => new TransportUnavailableError('billing is unreachable (test)'));
    await shop.http().post(`/orders/${id}/cancel`).set('Idempotency-Key', `cancel-${id}`).expect(202);
    const during = (await shop.http().get(`/orders/${id}`).expect(200)).body;
    expect(during).toMatchObject({
      status: 'CONFIRMED',
      cancellation: { state: 'IN_PROGRESS', reason: 'CUSTOMER_REQUEST', requestedAt: expect.any(String) },
    });
    intercept.clear();
    await eventually(async () => expect(await shop.order(id)).toMatchObject({ status: 'CANCELLED' }));
    expect((await shop.http().get(`/orders/${id}`).expect(200)).body).not.toHaveProperty('cancellation');
  });
});
