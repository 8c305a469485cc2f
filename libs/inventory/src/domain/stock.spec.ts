import { canTransition, commit, release, reserve, restock, returnToStock, type StockItem, totalCentsOf } from './stock';

const item = (sku: string, available: number, priceCents = 100): StockItem => ({ sku, name: sku, priceCents, available, reserved: 0 });

describe('stock rules', () => {
  it('reserves every line at the current price', () => {
    const out = reserve(
      [item('A', 5, 250), item('B', 2, 1000)],
      [
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 2 },
      ],
    );
    expect(out).toEqual({
      ok: true,
      items: [
        { ...item('A', 3, 250), reserved: 2 },
        { ...item('B', 0, 1000), reserved: 2 },
      ],
      lines: [
        { sku: 'A', quantity: 2, unitPriceCents: 250 },
        { sku: 'B', quantity: 2, unitPriceCents: 1000 },
      ],
      totalCents: 2500,
    });
  });

  it('sums the total exactly, and refuses one a JavaScript number cannot hold', () => {
    const line = (quantity: number, unitPriceCents: number) => ({ sku: 'A', quantity, unitPriceCents });
    expect(totalCentsOf([line(2, 250), line(2, 1000)])).toBe(2500);
    expect(totalCentsOf([line(4_194_304, 2_147_483_647)])).toBe(2 ** 53 - 2 ** 22);
    // 100 lines of 1,000,000 at the highest price: what ReserveStock alone would accept; a float sum would round it
    expect(() => totalCentsOf(Array.from({ length: 100 }, () => line(1_000_000, 2_147_483_647)))).toThrow(RangeError);
  });

  it('reserves nothing when any line is short, and names every shortage', () => {
    const out = reserve(
      [item('A', 5), item('B', 1)],
      [
        { sku: 'A', quantity: 1 },
        { sku: 'B', quantity: 2 },
        { sku: 'X', quantity: 1 },
      ],
    );
    expect(out).toEqual({
      ok: false,
      shortages: [
        { sku: 'B', requested: 2, available: 1 },
        { sku: 'X', requested: 1, available: 0 },
      ],
    });
  });

  it('adds up lines that name the same sku before checking stock', () => {
    expect(
      reserve(
        [item('A', 3)],
        [
          { sku: 'A', quantity: 2 },
          { sku: 'A', quantity: 2 },
        ],
      ).ok,
    ).toBe(false);
  });

  it('caps stock levels', () => {
    expect(() => restock(item('A', 999_999_999), 2)).toThrow(/exceed/);
  });

  it('rejects non-positive or fractional quantities', () => {
    expect(() => reserve([item('A', 3)], [{ sku: 'A', quantity: 0 }])).toThrow(RangeError);
    expect(() => restock(item('A', 3), 1.5)).toThrow(RangeError);
  });

  it('release, commit and return move stock between available and reserved without going negative', () => {
    const reserved = reserve([item('A', 5)], [{ sku: 'A', quantity: 2 }]);
    if (!reserved.ok) throw new Error('expected a reservation');
    expect(release(reserved.items, reserved.lines)[0]).toMatchObject({ available: 5, reserved: 0 });
    const committed = commit(reserved.items, reserved.lines);
    expect(committed[0]).toMatchObject({ available: 3, reserved: 0 });
    expect(returnToStock(committed, reserved.lines)[0]).toMatchObject({ available: 5, reserved: 0 });
    expect(() => commit(committed, reserved.lines)).toThrow(/negative/);
  });

  it('allows only RESERVED → RELEASED | COMMITTED → RETURNED, and repeats', () => {
    expect(canTransition('RESERVED', 'COMMITTED')).toBe(true);
    expect(canTransition('RELEASED', 'RELEASED')).toBe(true);
    expect(canTransition('RELEASED', 'COMMITTED')).toBe(false);
    expect(canTransition('COMMITTED', 'RELEASED')).toBe(false);
    expect(canTransition('COMMITTED', 'RETURNED')).toBe(true);
    expect(canTransition('RELEASED', 'RETURNED')).toBe(false);
  });
});
