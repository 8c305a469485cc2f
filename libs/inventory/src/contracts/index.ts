/**
 * Messages inventory accepts and publishes: its API for other modules. This file imports nothing but
 * zod, and a published type name never changes meaning (publish a .v2 beside it instead).
 * Every message is keyed by the order id, so messages about one order arrive in order.
 */
import { z } from 'zod';

/**
 * Inventory's promise about prices: a unit price is at most this (its column is a PostgreSQL integer). With it, a
 * sender can bound an order's total before inventory prices it.
 */
export const MAX_UNIT_PRICE_CENTS = 2_147_483_647;

const OrderId = z.uuid();
const Sku = z.string().min(1).max(64);
const Quantity = z.number().int().positive().max(1_000_000);
const Cents = z.number().int().nonnegative();

/** Command: reserve every line for the order, or none. Replied to with StockReserved or StockReservationFailed. */
export const ReserveStock = {
  type: 'inventory.reserve-stock.v1',
  schema: z.object({
    orderId: OrderId,
    lines: z
      .array(z.object({ sku: Sku, quantity: Quantity }))
      .min(1)
      .max(100),
  }),
} as const;

/** Reply: the stock is held for the order, at these unit prices. */
export const StockReserved = {
  type: 'inventory.stock-reserved.v1',
  schema: z.object({
    orderId: OrderId,
    lines: z.array(z.object({ sku: Sku, quantity: Quantity, unitPriceCents: Cents.max(MAX_UNIT_PRICE_CENTS) })).min(1),
    totalCents: Cents,
  }),
} as const;

/** Reply: nothing was reserved. OUT_OF_STOCK lists the shortages; RELEASED means the order was already released. */
export const StockReservationFailed = {
  type: 'inventory.stock-reservation-failed.v1',
  schema: z.object({
    orderId: OrderId,
    reason: z.enum(['OUT_OF_STOCK', 'RELEASED']),
    shortages: z.array(z.object({ sku: Sku, requested: Quantity, available: z.number().int().nonnegative() })),
  }),
} as const;

/** Command (compensation): give the order's reserved stock back. Also accepted before ReserveStock: the order can then no longer reserve. */
export const ReleaseStock = { type: 'inventory.release-stock.v1', schema: z.object({ orderId: OrderId }) } as const;
/** Reply: the order holds no stock any more. */
export const StockReleased = { type: 'inventory.stock-released.v1', schema: z.object({ orderId: OrderId }) } as const;

/** Command: the order is confirmed; its reserved stock leaves the warehouse. */
export const CommitStock = { type: 'inventory.commit-stock.v1', schema: z.object({ orderId: OrderId }) } as const;
/** Reply: the reserved stock was committed. */
export const StockCommitted = { type: 'inventory.stock-committed.v1', schema: z.object({ orderId: OrderId }) } as const;

/** Command (compensation of a confirmed order): put the committed stock back on the shelf. */
export const ReturnStock = { type: 'inventory.return-stock.v1', schema: z.object({ orderId: OrderId }) } as const;
/** Reply: the committed stock is available again. */
export const StockReturned = { type: 'inventory.stock-returned.v1', schema: z.object({ orderId: OrderId }) } as const;

/**
 * The messages inventory handles. A host that runs inventory elsewhere sends it exactly these (nothing else crosses
 * over to it), and inventory refuses to start when its handlers and this list disagree.
 */
export const inventoryConsumes: readonly string[] = [ReserveStock.type, ReleaseStock.type, CommitStock.type, ReturnStock.type];
