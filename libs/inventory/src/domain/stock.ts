/**
 * Inventory's domain rules, free of framework and database code.
 * Stock never goes negative: a reservation takes every line or none.
 */

export interface StockItem {
  sku: string;
  name: string;
  priceCents: number;
  available: number;
  reserved: number;
}

export interface RequestedLine {
  sku: string;
  quantity: number;
}

export interface ReservedLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** RESERVED → RELEASED (order failed) | COMMITTED (order confirmed) → RETURNED (confirmed order cancelled). */
export type ReservationStatus = 'RESERVED' | 'RELEASED' | 'COMMITTED' | 'RETURNED';

/** Upper bound of any stock level, far below the database's integer limit. */
export const MAX_STOCK = 1_000_000_000;

export interface Shortage {
  sku: string;
  requested: number;
  available: number;
}

export type ReservationOutcome =
  | { ok: true; items: StockItem[]; lines: ReservedLine[]; /** set by reserve(), exact: see totalCentsOf */ totalCents?: number }
  | { ok: false; shortages: Shortage[]; /** the order was released before it could reserve */ released?: boolean };

export function restock(item: StockItem, quantity: number): StockItem {
  assertPositiveInteger(quantity, 'quantity');
  if (item.available + item.reserved + quantity > MAX_STOCK) throw new RangeError(`stock of ${item.sku} would exceed ${MAX_STOCK}`);
  return { ...item, available: item.available + quantity };
}

/**
 * Reserves all lines from the given items, at their current prices, or nothing.
 * Lines naming the same sku are added together; unknown skus are shortages of zero availability.
 */
export function reserve(items: StockItem[], lines: RequestedLine[]): ReservationOutcome {
  const wanted = mergeLines(lines);
  const bySku = new Map(items.map((i) => [i.sku, i]));
  const shortages: Shortage[] = [];
  for (const [sku, quantity] of wanted) {
    const item = bySku.get(sku);
    if (!item || item.available < quantity) shortages.push({ sku, requested: quantity, available: item?.available ?? 0 });
  }
  if (shortages.length > 0) return { ok: false, shortages };
  const updated = new Map<string, StockItem>();
  const reserved: ReservedLine[] = [];
  for (const [sku, quantity] of wanted) {
    const item = bySku.get(sku)!;
    updated.set(sku, { ...item, available: item.available - quantity, reserved: item.reserved + quantity });
    reserved.push({ sku, quantity, unitPriceCents: item.priceCents });
  }
  return { ok: true, items: [...updated.values()], lines: reserved, totalCents: totalCentsOf(reserved) };
}

/**
 * The total of priced lines, summed exactly (in bigint): a total that a JavaScript number cannot hold exactly is a
 * RangeError, never a silently rounded amount of money.
 */
export function totalCentsOf(lines: readonly ReservedLine[]): number {
  const total = lines.reduce((sum, l) => sum + BigInt(l.quantity) * BigInt(l.unitPriceCents), 0n);
  if (total > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`the order's total of ${total} cents is above ${Number.MAX_SAFE_INTEGER}`);
  return Number(total);
}

/** Gives reserved stock back to availability (the order did not go through). */
export function release(items: StockItem[], lines: ReservedLine[]): StockItem[] {
  return applyToReserved(items, lines, (item, q) => ({ ...item, available: item.available + q, reserved: item.reserved - q }));
}

/** Reserved stock leaves the warehouse (the order was confirmed). */
export function commit(items: StockItem[], lines: ReservedLine[]): StockItem[] {
  return applyToReserved(items, lines, (item, q) => ({ ...item, reserved: item.reserved - q }));
}

/** Stock that left with a confirmed order comes back (the order was cancelled after confirmation). */
export function returnToStock(items: StockItem[], lines: ReservedLine[]): StockItem[] {
  return applyToReserved(items, lines, (item, q) => ({ ...item, available: item.available + q }));
}

/** Which transitions a reservation allows. Repeating the current state is a no-op, not an error. */
export function canTransition(from: ReservationStatus, to: ReservationStatus): boolean {
  if (from === to) return true;
  if (from === 'RESERVED') return to === 'RELEASED' || to === 'COMMITTED';
  return from === 'COMMITTED' && to === 'RETURNED';
}

function applyToReserved(items: StockItem[], lines: ReservedLine[], apply: (item: StockItem, quantity: number) => StockItem): StockItem[] {
  const bySku = new Map(items.map((i) => [i.sku, i]));
  for (const line of lines) {
    const item = bySku.get(line.sku);
    if (!item) throw new Error(`Reserved sku ${line.sku} no longer exists`);
    const next = apply(item, line.quantity);
    if (next.available < 0 || next.reserved < 0) throw new Error(`Stock of ${line.sku} would go negative`);
    bySku.set(line.sku, next);
  }
  return [...bySku.values()];
}

function mergeLines(lines: RequestedLine[]): Map<string, number> {
  const merged = new Map<string, number>();
  for (const line of lines) {
    assertPositiveInteger(line.quantity, `quantity of ${line.sku}`);
    merged.set(line.sku, (merged.get(line.sku) ?? 0) + line.quantity);
  }
  return new Map([...merged.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function assertPositiveInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive whole number, got ${n}`);
}
