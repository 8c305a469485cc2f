import { createTestApp, type ModuleDb, moduleDbToken, type TestApp, type Tx } from '@app/platform';
import { randomUUID } from 'node:crypto';
import { OrdersService, type SagaOutcome } from '../src/application/orders.service';
import { InvalidOrder, UnknownOrder } from '../src/domain/errors';
import { OrdersModule } from '../src/orders.module';

/** Resolves once `n` callers are waiting. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    if (++arrived === n) release();
    return all;
  };
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the order saga against real PostgreSQL', () => {
  let t: TestApp;
  let orders: OrdersService;
  let db: ModuleDb;
  const tx = <T>(work: (tx: Tx) => T | Promise<T>) => db.transaction(async (t) => work(t));
  const place = (orderId: string = randomUUID(), lines = [{ sku: 'MUG-1', quantity: 2 }]) =>
    tx((t) => orders.placeOrder(t, { orderId, customerId: 'cust-1', lines }));
  const types = (out: SagaOutcome) => out.messages.map((m) => m.contract.type);
  const version = async (id: string) => (await db.query(`SELECT version FROM orders WHERE id = $1`, [id]))[0]?.version;
  const deadlineOf = (out: SagaOutcome) =>
    out.messages.find((m) => m.contract.type === 'orders.step-deadline.v1')!.payload as { orderId: string; step: string; attempt: number };

  beforeAll(async () => {
    t = await createTestApp([OrdersModule.forRoot({ saga: { stepTimeoutMs: 40, maxAttempts: 2 } })]);
    orders = t.app.get(OrdersService);
    db = t.app.get<ModuleDb>(moduleDbToken('orders'));
  });
  afterAll(() => t.close());

  it('returns what to add to the outbox: contract, a payload valid against it, and the outbox options', async () => {
    const orderId = randomUUID();
    const before = Date.now();
    const out = await place(orderId);
    expect(out.changed).toBe(true);
    expect(out.messages.map((m) => [m.contract.type, m.payload, m.options])).toEqual([
      ['orders.order-placed.v1', { orderId, customerId: 'cust-1', lines: [{ sku: 'MUG-1', quantity: 2 }] }, { key: orderId }],
      [
        'inventory.reserve-stock.v1',
        { orderId, lines: [{ sku: 'MUG-1', quantity: 2 }] },
        { key: orderId, id: expect.stringMatching(UUID_V7) },
      ],
      // counted from the delivery of the reservation, not from now
      [
        'orders.step-deadline.v1',
        { orderId, step: 'RESERVING', attempt: 1 },
        { key: `${orderId}:deadline`, startsAfter: out.messages[1].options.id, delayMs: 40 },
      ],
    ]);
    expect(Date.parse(out.order.saga.deadlineAt!)).toBeGreaterThanOrEqual(before + 40);
    for (const m of out.messages) expect(m.contract.schema.safeParse(m.payload)).toMatchObject({ success: true });
  });

  it('re-sends a command under its first id across transactions, gives up after the configured attempts, and ignores stale deadlines', async () => {
    const placed = await place();
    const orderId = placed.order.id;
    const reserveId = placed.messages[1].options.id;
    const first = deadlineOf(placed);

    const retry = await tx((t) => orders.onDeadline(t, first));
    expect(retry.messages.map((m) => [m.contract.type, m.options.id])).toEqual([
      ['inventory.reserve-stock.v1', reserveId],
      ['orders.step-deadline.v1', undefined],
    ]);
    expect(deadlineOf(retry)).toEqual({ orderId, step: 'RESERVING', attempt: 2 });

    const v = await version(orderId);
    expect(await tx((t) => orders.onDeadline(t, first))).toMatchObject({ changed: false, messages: [] });
    expect(await version(orderId)).toBe(v); // nothing written

    const gaveUp = await tx((t) => orders.onDeadline(t, deadlineOf(retry)));
    expect(types(gaveUp)).toEqual(['inventory.release-stock.v1', 'orders.step-deadline.v1']);
    expect(gaveUp.order).toMatchObject({ status: 'PENDING', saga: { step: 'COMPENSATING', cancelReason: 'TIMED_OUT' } });

    const late = await tx((t) =>
      orders.onStockReserved(t, { orderId, lines: [{ sku: 'MUG-1', quantity: 2, unitPriceCents: 10 }], totalCents: 20 }),
    );
    expect(late).toMatchObject({ changed: true, messages: [] });
    const cancelled = await tx((t) => orders.onStockReleased(t, { orderId }));
    expect(cancelled.messages.map((m) => [m.contract.type, m.payload])).toEqual([
      ['orders.order-cancelled.v1', { orderId, reason: 'TIMED_OUT' }],
    ]);
    expect((await orders.getOrder(orderId)).history.map((h) => h.event)).toEqual([
      'Order placed',
      'No answer yet',
      'Timed out',
      'Stock reserved late',
      'Stock released',
      'Order cancelled',
    ]);
  });

  it('applies concurrent deliveries of the same reply once: the row lock serialises them', async () => {
    const orderId = (await place()).order.id;
    await tx((t) =>
      orders.onStockReservationFailed(t, { orderId, reason: 'OUT_OF_STOCK', shortages: [{ sku: 'MUG-1', requested: 2, available: 1 }] }),
    );
    const orderId2 = (await place()).order.id;
    await tx((t) =>
      orders.onStockReserved(t, { orderId: orderId2, lines: [{ sku: 'MUG-1', quantity: 2, unitPriceCents: 500 }], totalCents: 1_000 }),
    );
    await tx((t) => orders.onPaymentDeclined(t, { orderId: orderId2, reason: 'INSUFFICIENT_FUNDS', detail: 'too little' }));
    // every transaction holds its connection before any reads the order, so they really race
    const ready = barrier(6);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        tx(async (t) => {
          await t.query('SELECT 1');
          await ready();
          return orders.onStockReleased(t, { orderId: orderId2 });
        }),
      ),
    );
    expect(outcomes.map((o) => o.changed).filter(Boolean)).toEqual([true]);
    expect(outcomes.flatMap(types)).toEqual(['orders.order-cancelled.v1']);
    const view = await orders.getOrder(orderId2);
    expect(view).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED', totalCents: 1_000 });
    const seqs = await db.query(`SELECT seq FROM order_history WHERE order_id = $1 ORDER BY seq`, [orderId2]);
    expect(seqs.map((r) => r.seq)).toEqual(view.history.map((_, i) => i + 1));
  });

  it('reverses a confirmed order on a customer cancel, keeping it CONFIRMED until refund and return are acknowledged', async () => {
    const orderId = (await place()).order.id;
    await tx((t) =>
      orders.onStockReserved(t, { orderId, lines: [{ sku: 'MUG-1', quantity: 2, unitPriceCents: 1_250 }], totalCents: 2_500 }),
    );
    const confirmed = await tx((t) =>
      orders.onPaymentCaptured(t, { orderId, customerId: 'cust-1', amountCents: 2_500, entryId: randomUUID() }),
    );
    expect(types(confirmed)).toEqual(['orders.order-confirmed.v1', 'inventory.commit-stock.v1', 'orders.step-deadline.v1']);
    await tx((t) => orders.onStockCommitted(t, { orderId }));

    const cancel = await tx((t) => orders.requestCancel(t, orderId));
    expect(cancel.messages.map((m) => [m.contract.type, m.payload])).toEqual([
      ['billing.refund-payment.v1', { orderId, reason: 'CUSTOMER_REQUEST' }],
      ['inventory.return-stock.v1', { orderId }],
      ['orders.step-deadline.v1', { orderId, step: 'REVERSING', attempt: 1 }],
    ]);
    expect(await tx((t) => orders.requestCancel(t, orderId))).toMatchObject({ changed: false, messages: [] });
    await tx((t) => orders.onPaymentRefunded(t, { orderId, refundedCents: 2_500, entryId: randomUUID() }));
    expect((await orders.getOrder(orderId)).status).toBe('CONFIRMED');
    await tx((t) => orders.onStockReturned(t, { orderId }));
    expect(await orders.getOrder(orderId)).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
  });

  it('writes nothing when the surrounding transaction rolls back', async () => {
    const orderId = randomUUID();
    await expect(
      tx(async (t) => {
        orders.placeOrder(t, { orderId, customerId: 'cust-1', lines: [{ sku: 'A', quantity: 1 }] });
        await t.query('SELECT 1'); // the order row is on its way
        throw new Error('the outbox write failed');
      }),
    ).rejects.toThrow('the outbox write failed');
    await expect(orders.getOrder(orderId)).rejects.toThrow(UnknownOrder);
    expect(await db.query(`SELECT count(*)::int AS n FROM order_history WHERE order_id = $1`, [orderId])).toEqual([{ n: 0 }]);
  });

  it('refuses replies for unknown orders (non-retryable), a second order with the same id and invalid orders', async () => {
    const unknown = tx((t) => orders.onStockReleased(t, { orderId: randomUUID() }));
    await expect(unknown).rejects.toThrow(UnknownOrder);
    await expect(unknown).rejects.toMatchObject({ nonRetryable: true });
    const orderId = (await place()).order.id;
    await expect(place(orderId)).rejects.toThrow(/orders_pkey/); // ids are new UUIDv7s: a repeat is a bug, refused by the key
    await expect(place(randomUUID(), [])).rejects.toThrow(InvalidOrder);
  });
});
