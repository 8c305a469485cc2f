import { type ModuleDb, moduleDbToken, type TestApp } from '@app/platform';
import { bootMonolith, eventually, Shop } from './saga-fixture';

/** Two app instances on one database: their relays race for the same outboxes (SKIP LOCKED + leases). */
describe('two instances sharing one database', () => {
  let a: TestApp;
  let b: TestApp;
  let shopA: Shop;
  let shopB: Shop;

  beforeAll(async () => {
    a = await bootMonolith();
    b = await bootMonolith(a.db);
    shopA = new Shop(a);
    shopB = new Shop(b);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('settles every order once: no double capture, stock and money match the confirmed orders', async () => {
    await shopA.item('WIDGET', 300, 40);
    await shopA.customer('shared', 9_000);
    // 30 orders of 2 widgets (60 wanted, 40 in stock, money for 30 widgets), placed through both instances
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? shopA : shopB).place('shared', [{ sku: 'WIDGET', quantity: 2 }])),
    );
    const orders = await Promise.all(ids.map((id) => shopA.settled(id, 30_000)));
    const confirmed = orders.filter((o) => o.status === 'CONFIRMED').length;
    expect(confirmed).toBeGreaterThan(0);
    expect(confirmed).toBeLessThanOrEqual(15); // money for 15 orders of 600
    expect(await shopB.balance('shared')).toBe(9_000 - confirmed * 600);
    await eventually(async () =>
      expect(await shopB.stock('WIDGET')).toEqual(expect.objectContaining({ available: 40 - confirmed * 2, reserved: 0 })),
    );
    const billing = a.app.get<ModuleDb>(moduleDbToken('billing'));
    const [{ captures, refunds, orders: distinctOrders }] = await billing.query(
      `SELECT count(*) FILTER (WHERE kind = 'CAPTURE')::int AS captures, count(*) FILTER (WHERE kind = 'REFUND')::int AS refunds,
              count(DISTINCT order_id) FILTER (WHERE kind = 'CAPTURE')::int AS orders FROM journal_entries`,
    );
    // never two captures for one order; a capture whose step timed out was refunded by a reversing entry
    expect(captures).toBe(distinctOrders);
    expect(captures - refunds).toBe(confirmed);
    expect(await shopA.ledgerBalanced()).toBe(true);
    // both relays took part
    const ordersDb = a.app.get<ModuleDb>(moduleDbToken('orders'));
    // the outbox drains (the last steps, committing stock, may still be on their way when the orders are settled)
    await eventually(async () =>
      expect(await ordersDb.query(`SELECT count(*)::int AS pending FROM outbox WHERE status = 'pending'`)).toEqual([{ pending: 0 }]),
    );
  });
});
