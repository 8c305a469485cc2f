import { createTestApp, type ModuleDb, moduleDbToken, type TestApp, type Tx } from '@app/platform';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { OrdersService } from '../src/application/orders.service';
import { OrdersModule } from '../src/orders.module';

describe('orders over HTTP (module booted alone)', () => {
  let t: TestApp;
  let orders: OrdersService;
  let db: ModuleDb;
  const http = () => request(t.app.getHttpServer());
  const tx = <T>(work: (tx: Tx) => T | Promise<T>) => db.transaction(async (t) => work(t));
  const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  beforeAll(async () => {
    t = await createTestApp([OrdersModule]);
    orders = t.app.get(OrdersService);
    db = t.app.get<ModuleDb>(moduleDbToken('orders'));
  });
  afterAll(() => t.close());

  it('shows a placed order, then the confirmed order with its prices, total and history', async () => {
    const orderId = randomUUID();
    await tx((t) =>
      orders.placeOrder(t, {
        orderId,
        customerId: 'cust-1',
        lines: [
          { sku: 'MUG-1', quantity: 2 },
          { sku: 'TEA-3', quantity: 1 },
        ],
      }),
    );
    const pending = await http().get(`/orders/${orderId}`).expect(200);
    expect(pending.body).toEqual({
      id: orderId,
      customerId: 'cust-1',
      status: 'PENDING',
      totalCents: null,
      lines: [
        { sku: 'MUG-1', quantity: 2 },
        { sku: 'TEA-3', quantity: 1 },
      ],
      waiting: { step: 'RESERVING', on: ['inventory'], state: 'REPLY', detail: 'Waiting for inventory to reserve the stock.' },
      history: [
        {
          at: ISO,
          event: 'Order placed',
          detail: 'Customer cust-1 ordered 2 × MUG-1 and 1 × TEA-3. Asking inventory to reserve the stock.',
        },
      ],
    });

    const lines = [
      { sku: 'MUG-1', quantity: 2, unitPriceCents: 1_299 },
      { sku: 'TEA-3', quantity: 1, unitPriceCents: 450 },
    ];
    await tx((t) => orders.onStockReserved(t, { orderId, lines, totalCents: 3_048 }));
    await tx((t) =>
      orders.onPaymentCaptured(t, { orderId, customerId: 'cust-1', amountCents: 3_048, entryId: '0190a5e0-0000-7000-8000-00000000e001' }),
    );
    await tx((t) => orders.onStockCommitted(t, { orderId }));

    const res = await http().get(`/orders/${orderId}`).expect(200);
    expect(res.body).toMatchObject({ id: orderId, status: 'CONFIRMED', totalCents: 3_048, lines });
    expect(res.body).not.toHaveProperty('reason');
    expect(res.body).not.toHaveProperty('waiting'); // the commit was acknowledged: nothing is awaited
    expect(res.body.history).toEqual([
      { at: ISO, event: 'Order placed', detail: expect.any(String) },
      {
        at: ISO,
        event: 'Stock reserved',
        detail:
          "Inventory reserved 2 × MUG-1 at 1,299 cents and 1 × TEA-3 at 450 cents: 3,048 cents in total. Asking billing to take 3,048 cents from the customer's account.",
      },
      {
        at: ISO,
        event: 'Payment captured',
        detail: "3,048 cents were taken from the customer's account (ledger entry 0190a5e0-0000-7000-8000-00000000e001).",
      },
      { at: ISO, event: 'Order confirmed', detail: 'The order is confirmed. Asking inventory to send the stock out.' },
      { at: ISO, event: 'Stock committed', detail: 'Inventory confirmed that the stock left the warehouse for this order.' },
    ]);
  });

  it('shows why a declined order was cancelled, and that it stayed PENDING until the stock was back', async () => {
    const orderId = randomUUID();
    await tx((t) => orders.placeOrder(t, { orderId, customerId: 'cust-2', lines: [{ sku: 'LAMP', quantity: 1 }] }));
    await tx((t) =>
      orders.onStockReserved(t, { orderId, lines: [{ sku: 'LAMP', quantity: 1, unitPriceCents: 2_500 }], totalCents: 2_500 }),
    );
    await tx((t) =>
      orders.onPaymentDeclined(t, {
        orderId,
        reason: 'INSUFFICIENT_FUNDS',
        detail: 'the account balance (1,200 cents) is lower than the order total (2,500 cents)',
      }),
    );
    await http()
      .get(`/orders/${orderId}`)
      .expect(200)
      .expect((r) => expect(r.body).toMatchObject({ status: 'PENDING' }));
    await tx((t) => orders.onStockReleased(t, { orderId }));

    const res = await http().get(`/orders/${orderId}`).expect(200);
    expect(res.body).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED', totalCents: 2_500 });
    expect(res.body.history.map((h: { event: string }) => h.event)).toEqual([
      'Order placed',
      'Stock reserved',
      'Payment declined',
      'Stock released',
      'Order cancelled',
    ]);
    expect(res.body.history[2].detail).toBe(
      'Payment declined: the account balance (1,200 cents) is lower than the order total (2,500 cents). Nothing was charged. ' +
        'Asking inventory to give back the reserved stock before the order is cancelled.',
    );
    expect(res.body.history[4].detail).toBe(
      'The order is cancelled because the payment was declined. The reserved stock is back on the shelf and nothing was charged.',
    );
  });

  it('shows an out-of-stock order with its shortages', async () => {
    const orderId = randomUUID();
    await tx((t) => orders.placeOrder(t, { orderId, customerId: 'cust-3', lines: [{ sku: 'RARE', quantity: 5 }] }));
    await tx((t) =>
      orders.onStockReservationFailed(t, { orderId, reason: 'OUT_OF_STOCK', shortages: [{ sku: 'RARE', requested: 5, available: 2 }] }),
    );
    const res = await http().get(`/orders/${orderId}`).expect(200);
    expect(res.body).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK', totalCents: null });
    expect(res.body.history[1]).toEqual({
      at: ISO,
      event: 'Out of stock',
      detail: 'Not enough stock of RARE (5 wanted, 2 available). Nothing was reserved or charged.',
    });
  });

  it('answers 404 problem for an unknown order', async () => {
    const id = randomUUID();
    const res = await http().get(`/orders/${id}`).expect(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: expect.stringMatching(/unknown-order$/),
      status: 404,
      detail: `No order has id ${id}. Check the id; orders are created with POST /orders.`,
      instance: `/orders/${id}`,
    });
  });

  it.each(['not-a-uuid', '123', `${randomUUID()}x`])('answers 400 problem for the malformed id %s', async (id) => {
    const res = await http().get(`/orders/${id}`).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.type).toMatch(/validation-failed$/);
    expect(res.body.errors).toEqual([{ in: 'path', field: 'id', message: 'must be a UUID' }]);
  });
});
