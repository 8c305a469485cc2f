import { createTestApp, type ModuleDb, moduleDbToken, type TestApp } from '@app/platform';
import { randomUUID } from 'node:crypto';
import { InventoryService } from '../src/application/inventory.service';
import type { RequestedLine } from '../src/domain/stock';
import { InventoryModule } from '../src/inventory.module';

describe('reservations against real PostgreSQL', () => {
  let t: TestApp;
  let inventory: InventoryService;
  let db: ModuleDb;
  /** The saga steps, each in a transaction of its own (as a message handler's). */
  const saga = {
    reserve: (orderId: string, lines: RequestedLine[]) => db.transaction((tx) => inventory.reserve(tx, orderId, lines)),
    release: (orderId: string) => db.transaction((tx) => inventory.release(tx, orderId)),
    commit: (orderId: string) => db.transaction((tx) => inventory.commit(tx, orderId)),
    returnStock: (orderId: string) => db.transaction((tx) => inventory.returnStock(tx, orderId)),
  };

  beforeAll(async () => {
    t = await createTestApp([InventoryModule]);
    inventory = t.app.get(InventoryService);
    db = t.app.get<ModuleDb>(moduleDbToken('inventory'));
  });
  afterAll(() => t.close());

  it('takes every line or none', async () => {
    await inventory.createItem({ sku: 'A', name: 'A', priceCents: 250, quantity: 5 });
    await inventory.createItem({ sku: 'B', name: 'B', priceCents: 100, quantity: 1 });
    const order = randomUUID();
    const short = await saga.reserve(order, [
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 2 },
    ]);
    expect(short).toEqual({ ok: false, shortages: [{ sku: 'B', requested: 2, available: 1 }] });
    expect(await inventory.getItem('A')).toMatchObject({ available: 5, reserved: 0 });
    await expect(inventory.getReservation(order)).rejects.toThrow(/No stock is reserved/);
  });

  it('reserves, commits and returns stock; each step is idempotent per order', async () => {
    await inventory.createItem({ sku: 'C', name: 'C', priceCents: 700, quantity: 4 });
    const order = randomUUID();
    const first = await saga.reserve(order, [{ sku: 'C', quantity: 3 }]);
    const again = await saga.reserve(order, [{ sku: 'C', quantity: 3 }]);
    expect(first).toMatchObject({ ok: true, lines: [{ sku: 'C', quantity: 3, unitPriceCents: 700 }] });
    expect(again).toMatchObject({ ok: true, lines: [{ sku: 'C', quantity: 3, unitPriceCents: 700 }] });
    expect(await inventory.getItem('C')).toMatchObject({ available: 1, reserved: 3 });
    await saga.commit(order);
    await saga.commit(order);
    expect(await inventory.getItem('C')).toMatchObject({ available: 1, reserved: 0 });
    await expect(saga.release(order)).rejects.toThrow(/COMMITTED and cannot become RELEASED/);
    await saga.returnStock(order);
    await saga.returnStock(order);
    expect(await inventory.getItem('C')).toMatchObject({ available: 4, reserved: 0 });
  });

  it('releases a reservation once', async () => {
    await inventory.createItem({ sku: 'D', name: 'D', priceCents: 1, quantity: 2 });
    const order = randomUUID();
    await saga.reserve(order, [{ sku: 'D', quantity: 2 }]);
    await Promise.all([saga.release(order), saga.release(order), saga.release(order)]);
    expect(await inventory.getItem('D')).toMatchObject({ available: 2, reserved: 0 });
    expect(await inventory.getReservation(order)).toMatchObject({ status: 'RELEASED' });
  });

  it('refuses a reserve that arrives after the release of the same order', async () => {
    await inventory.createItem({ sku: 'E', name: 'E', priceCents: 1, quantity: 2 });
    const order = randomUUID();
    expect(await saga.release(order)).toEqual({ orderId: order, status: 'RELEASED', lines: [] });
    expect(await saga.reserve(order, [{ sku: 'E', quantity: 1 }])).toEqual({ ok: false, shortages: [], released: true });
    expect(await inventory.getItem('E')).toMatchObject({ available: 2, reserved: 0 });
  });

  it('never oversells under concurrent reservations and restocks', async () => {
    await inventory.createItem({ sku: 'HOT', name: 'Hot', priceCents: 500, quantity: 25 });
    await inventory.createItem({ sku: 'SIDE', name: 'Side', priceCents: 50, quantity: 1000 });
    // 60 orders of 1–2 units race for 25 (+10 restocked meanwhile); lines in both sku orders provoke lock-order deadlocks if any
    const orders = Array.from({ length: 60 }, (_, i) => ({
      id: randomUUID(),
      lines:
        i % 2
          ? [
              { sku: 'HOT', quantity: 1 + (i % 3 === 0 ? 1 : 0) },
              { sku: 'SIDE', quantity: 1 },
            ]
          : [
              { sku: 'SIDE', quantity: 1 },
              { sku: 'HOT', quantity: 1 },
            ],
    }));
    const outcomes = await Promise.all([
      ...orders.map((o) => saga.reserve(o.id, o.lines)),
      inventory.restock('HOT', 5),
      inventory.restock('HOT', 5),
    ]);
    const reservedHot = orders.reduce((sum, o, i) => {
      const outcome = outcomes[i] as { ok: boolean };
      return outcome.ok ? sum + o.lines.find((l) => l.sku === 'HOT')!.quantity : sum;
    }, 0);
    const hot = await inventory.getItem('HOT');
    expect(reservedHot).toBeLessThanOrEqual(35);
    expect(hot.reserved).toBe(reservedHot);
    expect(hot.available).toBe(35 - reservedHot);
    expect(hot.available).toBeGreaterThanOrEqual(0);
    // some order must have been refused: 60 orders want more than 35
    expect(outcomes.slice(0, 60).some((o) => !(o as { ok: boolean }).ok)).toBe(true);
  });

  it("serialises one order's steps whatever order they arrive in: a release racing its reserve leaks no stock", async () => {
    // Delivered remote (BullMQ keeps no per-key order), reserve and release of one order can run side by side.
    await inventory.createItem({ sku: 'RACE', name: 'Race', priceCents: 1, quantity: 10 });
    for (let round = 0; round < 20; round++) {
      const order = randomUUID();
      const held = db.transaction(async (tx) => {
        const outcome = await inventory.reserve(tx, order, [{ sku: 'RACE', quantity: 1 }]);
        await new Promise((r) => setTimeout(r, 20)); // the reservation is written, not committed yet
        return outcome;
      });
      const release = new Promise((r) => setTimeout(r, 5)).then(() => saga.release(order));
      await Promise.all([held, release]);
      expect(await inventory.getReservation(order)).toMatchObject({ status: 'RELEASED' });
    }
    expect(await inventory.getItem('RACE')).toMatchObject({ available: 10, reserved: 0 });
  });
});
