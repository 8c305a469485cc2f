import { createEnvelope, DeadLetters, describeWithRedis, fingerprintOf, NonRetryableError } from '@app/platform';
import { PaymentCaptured } from '@app/billing/contracts';
import { randomUUID } from 'node:crypto';
import { bootExtractedTopology, bootMonolithTopology, eventually, Shop, type Topology } from './saga-fixture';

/**
 * The order saga's scenarios, run unchanged against both topologies: the monolith (every module in one process,
 * in-process transport) and the extracted one (billing in a service of its own, with its own database, over BullMQ).
 */
function sagaScenarios(boot: () => Promise<Topology>): void {
  let topology: Topology;
  let shop: Shop;
  const ds = (module: string) => topology.ds(module);

  beforeAll(async () => {
    topology = await boot();
    shop = new Shop(topology);
    await shop.item('MUG', 1_250, 100);
    await shop.item('TEA', 400, 100);
    await shop.item('RARE', 9_900, 1);
  });
  afterAll(() => topology?.close());

  it('reserves, captures and confirms; the reservation is committed and the ledger stays balanced', async () => {
    await shop.customer('happy', 10_000);
    const before = await shop.stock('MUG');
    const res = await shop
      .http()
      .post('/orders')
      .set('Idempotency-Key', randomUUID())
      .send({
        customerId: 'happy',
        lines: [
          { sku: 'MUG', quantity: 2 },
          { sku: 'TEA', quantity: 3 },
        ],
      })
      .expect(202);
    expect(res.body).toEqual({ id: expect.any(String), status: 'PENDING' });
    expect(res.headers.location).toBe(`/orders/${res.body.id}`);

    const order = await shop.settled(res.body.id);
    expect(order).toMatchObject({ status: 'CONFIRMED', totalCents: 2 * 1_250 + 3 * 400 });
    expect(order.reason).toBeUndefined();
    expect(order.history.length).toBeGreaterThanOrEqual(3);
    expect(await shop.balance('happy')).toBe(10_000 - 3_700);
    await eventually(async () => expect(await shop.stock('MUG')).toMatchObject({ available: before.available - 2, reserved: 0 }));
    expect(await shop.ledgerBalanced()).toBe(true);
  });

  describe('Idempotency-Key on POST /orders', () => {
    it('answers a repeat with the same response and places one order', async () => {
      await shop.customer('repeat', 10_000);
      const key = randomUUID();
      const body = { customerId: 'repeat', lines: [{ sku: 'TEA', quantity: 1 }] };
      const first = await shop.http().post('/orders').set('Idempotency-Key', key).send(body).expect(202);
      const again = await shop.http().post('/orders').set('Idempotency-Key', key).send(body).expect(202);
      expect(again.body).toEqual(first.body);
      expect(again.headers.location).toBe(first.headers.location);
      await shop.settled(first.body.id);
      const [{ n }] = await ds('orders').query(`SELECT count(*)::int AS n FROM orders WHERE customer_id = 'repeat'`);
      expect(n).toBe(1);
      expect(await shop.balance('repeat')).toBe(10_000 - 400);
    });

    it('refuses the same key with a different body (422), a missing key (400) and a key still in flight (409)', async () => {
      const key = randomUUID();
      await shop
        .http()
        .post('/orders')
        .set('Idempotency-Key', key)
        .send({ customerId: 'x1', lines: [{ sku: 'TEA', quantity: 1 }] })
        .expect(202);
      const changed = await shop
        .http()
        .post('/orders')
        .set('Idempotency-Key', key)
        .send({ customerId: 'x1', lines: [{ sku: 'TEA', quantity: 2 }] })
        .expect(422);
      expect(changed.body.type).toMatch(/idempotency-key-reused$/);
      const missing = await shop
        .http()
        .post('/orders')
        .send({ customerId: 'x1', lines: [{ sku: 'TEA', quantity: 1 }] })
        .expect(400);
      expect(missing.body.detail).toMatch(/Idempotency-Key/);

      // A first request still running holds the key's row: a repeat waits for it, then gets its response (not a second order).
      const busy = randomUUID();
      const body = { customerId: 'x2', lines: [{ sku: 'TEA', quantity: 1 }] };
      const firstId = randomUUID();
      let finish!: () => void;
      const finished = new Promise<void>((r) => (finish = r));
      let claimed!: () => void;
      const holding = new Promise<void>((r) => (claimed = r));
      const first = ds('orders').transaction(async (tx) => {
        await tx.query(
          `INSERT INTO idempotency_keys (scope, principal, key, fingerprint, expires_at, response_status, response_body)
           VALUES ('orders.place', '', $1, $2, now() + interval '1 hour', 202, $3)`,
          [busy, fingerprintOf(body), JSON.stringify({ id: firstId, status: 'PENDING' })],
        );
        claimed();
        await finished;
      });
      await holding;
      const repeat = shop.http().post('/orders').set('Idempotency-Key', busy).send(body);
      setTimeout(finish, 300);
      const replayed = await repeat;
      await first;
      expect(replayed.status).toBe(202);
      expect(replayed.body).toEqual({ id: firstId, status: 'PENDING' });
    });

    it('refuses bad orders with 400 and writes nothing', async () => {
      const [{ n: before }] = await ds('orders').query('SELECT count(*)::int AS n FROM orders');
      for (const body of [
        { customerId: 'a', lines: [] },
        { customerId: 'a', lines: [{ sku: 'TEA', quantity: -1 }] },
        { customerId: 'a', lines: [{ sku: 'TEA', quantity: 1.5 }] },
        { customerId: 'a', lines: [{ sku: 'TEA', quantity: 1e12 }] },
        { customerId: 'a'.repeat(65), lines: [{ sku: 'TEA', quantity: 1 }] },
        { lines: [{ sku: 'TEA', quantity: 1 }] },
      ]) {
        await shop.http().post('/orders').set('Idempotency-Key', randomUUID()).send(body).expect(400);
      }
      const [{ n: after }] = await ds('orders').query('SELECT count(*)::int AS n FROM orders');
      expect(after).toBe(before);
    });
  });

  it('cancels an out-of-stock order (OUT_OF_STOCK) and charges nothing', async () => {
    await shop.customer('unlucky', 100_000);
    const id = await shop.place('unlucky', [{ sku: 'RARE', quantity: 2 }]);
    const order = await shop.settled(id);
    expect(order).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(order.history.map((h) => h.detail).join('\n')).toMatch(/RARE/);
    expect(await shop.balance('unlucky')).toBe(100_000);
    expect(await shop.stock('RARE')).toMatchObject({ available: 1, reserved: 0 });
  });

  it('releases the reservation when payment is declined (PAYMENT_DECLINED)', async () => {
    await shop.customer('poor', 1_000);
    const before = await shop.stock('MUG');
    const id = await shop.place('poor', [{ sku: 'MUG', quantity: 1 }]);
    const order = await shop.settled(id);
    expect(order).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    expect(await shop.stock('MUG')).toEqual(expect.objectContaining({ available: before.available, reserved: before.reserved }));
    expect(await shop.balance('poor')).toBe(1_000);
  });

  it('times out a step whose reply does not come, re-sends it, then compensates (TIMED_OUT)', async () => {
    await shop.customer('slow', 100_000);
    await shop.item('STUCK', 100, 5);
    // Inventory takes the reservation but never answers it (each copy fails for good). A deadline counts from the
    // command's delivery, so the saga re-sends, then gives up; time spent before delivery would not count.
    const dispatcher = shop.dispatcher('inventory');
    const deliver = dispatcher.deliver.bind(dispatcher);
    const broken = jest.spyOn(dispatcher, 'deliver').mockImplementation((message: unknown) => {
      const e = message as { type: string; payload: { lines?: { sku: string }[] } };
      if (e.type === 'inventory.reserve-stock.v1' && e.payload.lines?.some((l) => l.sku === 'STUCK'))
        return Promise.reject(new NonRetryableError('inventory cannot take this reservation (test)'));
      return deliver(message);
    });
    let id: string;
    try {
      id = await shop.place('slow', [{ sku: 'STUCK', quantity: 2 }]);
      await eventually(async () => expect(await shop.order(id)).toMatchObject({ status: 'CANCELLED' }), 10_000);
    } finally {
      broken.mockRestore();
    }
    const order = await shop.settled(id);
    expect(order).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT' });
    expect(order.history.map((h) => h.event)).toEqual(expect.arrayContaining(['No answer yet', 'Timed out']));
    await eventually(async () => expect(await shop.stock('STUCK')).toMatchObject({ available: 5, reserved: 0 }));
    expect(await shop.balance('slow')).toBe(100_000);
    // every copy of the re-sent ReserveStock kept its message id
    const [{ ids }] = await ds('orders').query<{ ids: number }>(
      `SELECT count(DISTINCT message_id)::int AS ids FROM outbox WHERE type = 'inventory.reserve-stock.v1' AND status = 'dead' AND envelope->'payload'->>'orderId' = $1`,
      [id],
    );
    expect(ids).toBe(1);
  });

  it('cancels a PENDING order on request, undoing what was done (CUSTOMER_REQUEST)', async () => {
    await shop.customer('fickle', 50_000);
    await shop.item('HELD', 700, 3);
    const id = await shop.whileItemLocked('HELD', async () => {
      const placed = await shop.place('fickle', [{ sku: 'HELD', quantity: 1 }]);
      const res = await shop.http().post(`/orders/${placed}/cancel`).set('Idempotency-Key', randomUUID()).expect(202);
      expect(res.body).toEqual({ id: placed, status: 'PENDING' });
      return placed;
    });
    expect(await shop.settled(id)).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
    await eventually(async () => expect(await shop.stock('HELD')).toMatchObject({ available: 3, reserved: 0 }));
    expect(await shop.balance('fickle')).toBe(50_000);
  });

  it('refunds and restocks a CONFIRMED order on request; cancelling again is a no-op', async () => {
    await shop.customer('regret', 20_000);
    const before = await shop.stock('TEA');
    const id = await shop.place('regret', [{ sku: 'TEA', quantity: 5 }]);
    expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED' });
    expect(await shop.balance('regret')).toBe(18_000);

    await shop.http().post(`/orders/${id}/cancel`).set('Idempotency-Key', randomUUID()).expect(202);
    await eventually(async () => expect(await shop.order(id)).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' }));
    expect(await shop.balance('regret')).toBe(20_000);
    await eventually(async () => expect(await shop.stock('TEA')).toMatchObject({ available: before.available, reserved: 0 }));

    const again = await shop.http().post(`/orders/${id}/cancel`).set('Idempotency-Key', randomUUID()).expect(202);
    expect(again.body).toEqual({ id, status: 'CANCELLED' });
    // the refund is a new, reversing ledger entry: the capture is still there
    const [{ captures, refunds }] = await ds('billing').query(
      `SELECT count(*) FILTER (WHERE kind = 'CAPTURE')::int AS captures, count(*) FILTER (WHERE kind = 'REFUND')::int AS refunds FROM journal_entries WHERE order_id = $1`,
      [id],
    );
    expect({ captures, refunds }).toEqual({ captures: 1, refunds: 1 });
    expect(await shop.ledgerBalanced()).toBe(true);
    await shop.http().post(`/orders/${randomUUID()}/cancel`).set('Idempotency-Key', randomUUID()).expect(404);
  });

  it('applies duplicate and concurrent duplicate deliveries once, and ignores a late reordered reply', async () => {
    await shop.customer('dup', 10_000);
    const id = await shop.place('dup', [{ sku: 'MUG', quantity: 1 }]);
    expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED' });
    const dispatcher = shop.dispatcher('orders');
    const [{ entry_id: entryId }] = await ds('billing').query(
      `SELECT id AS entry_id FROM journal_entries WHERE order_id = $1 AND kind = 'CAPTURE'`,
      [id],
    );
    const late = createEnvelope(
      'billing',
      PaymentCaptured.type,
      { orderId: id, customerId: 'dup', amountCents: 1_250, entryId },
      { key: id },
    );
    const outcomes = (await Promise.all([dispatcher.deliver(late), dispatcher.deliver(late), dispatcher.deliver(late)])).flat();
    expect(outcomes.filter((o) => o.outcome === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(2);
    // a second copy with a new id (a producer that re-sent) does not change a confirmed order either
    const historyBefore = (await shop.order(id)).history.length;
    await dispatcher.deliver(createEnvelope('billing', PaymentCaptured.type, late.payload, { key: id }));
    const after = await shop.order(id);
    expect(after.status).toBe('CONFIRMED');
    expect(after.history.length).toBeGreaterThanOrEqual(historyBefore);
    expect(await shop.balance('dup')).toBe(10_000 - 1_250);
  });

  it('dead-letters a poison message at once and keeps the saga running for other orders', async () => {
    // A producer bug: messages whose payload breaks their contract, written straight into orders' outbox.
    const poison = createEnvelope('orders', 'inventory.reserve-stock.v1', { orderId: 'not-a-uuid', lines: 'nope' }, { key: 'poison' });
    const poisonForBilling = createEnvelope('orders', 'billing.capture-payment.v1', { orderId: 'nope' }, { key: 'poison' });
    for (const p of [poison, poisonForBilling]) {
      await ds('orders').query(`INSERT INTO outbox (message_id, type, key, envelope) VALUES ($1, $2, $3, $4)`, [
        p.id,
        p.type,
        p.key,
        JSON.stringify(p),
      ]);
    }
    const deadLetters = topology.appOf('orders').app.get(DeadLetters);
    await eventually(async () => expect((await deadLetters.list({ module: 'orders' })).map((d) => d.id)).toContain(poison.id));
    // Its consumer refuses it: in the monolith the relay dead-letters it in orders' outbox; with billing extracted,
    // billing's worker records it in billing's own database. Either way it is one dead letter, found by the operators.
    const owner = topology.name === 'monolith' ? 'orders' : 'billing';
    await eventually(async () =>
      expect((await topology.deadLetters()).filter((d) => d.id === poisonForBilling.id)).toEqual([
        expect.objectContaining({ module: owner, id: poisonForBilling.id }),
      ]),
    );

    await shop.customer('after-poison', 10_000);
    const id = await shop.place('after-poison', [{ sku: 'TEA', quantity: 1 }]);
    expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED' });
  });
}

describe('the order saga across orders, inventory and billing (monolith: in-process transport)', () => {
  sagaScenarios(() => bootMonolithTopology());
});

describeWithRedis('the order saga across orders, inventory and billing (extracted: billing as a service, over BullMQ)', (redisUrl) => {
  sagaScenarios(() => bootExtractedTopology({ redisUrl }));
});
