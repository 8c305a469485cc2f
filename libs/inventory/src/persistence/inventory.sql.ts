import { statement } from '@app/platform';
import type { ReservationStatus, ReservedLine, StockItem } from '../domain/stock';

/** A row of `items` as the statements below return it. */
export interface ItemRow {
  sku: string;
  name: string;
  price_cents: number;
  available: number;
  reserved: number;
}

export interface ReservationRow {
  order_id: string;
  status: ReservationStatus;
  lines: ReservedLine[];
}

export function toStockItem(r: ItemRow): StockItem {
  return { sku: r.sku, name: r.name, priceCents: r.price_cents, available: r.available, reserved: r.reserved };
}

const ITEM = 'sku, name, price_cents, available, reserved';

/** Inventory's statements (its own schema, by the role's search_path). */
export const InventorySql = {
  insertItem: statement(`INSERT INTO items (sku, name, price_cents, available, reserved) VALUES ($1, $2, $3, $4, 0)
    ON CONFLICT DO NOTHING RETURNING ${ITEM}`),
  item: statement(`SELECT ${ITEM} FROM items WHERE sku = $1`),
  /** Row locks in sku order, so two reservations touching the same items queue instead of deadlocking. */
  lockItems: statement(`SELECT ${ITEM} FROM items WHERE sku = ANY ($1::text[]) ORDER BY sku FOR UPDATE`),
  /** The items of an order's reservation, locked in sku order (pipelined right after the reservation's own lock). */
  lockReservedItems: statement(`SELECT ${ITEM} FROM items
    WHERE sku IN (SELECT l->>'sku' FROM reservations r, jsonb_array_elements(r.lines) l WHERE r.order_id = $1)
    ORDER BY sku FOR UPDATE`),
  saveLevels: statement(`UPDATE items i SET available = u.available, reserved = u.reserved, updated_at = now()
    FROM unnest($1::text[], $2::int[], $3::int[]) AS u(sku, available, reserved) WHERE i.sku = u.sku`),
  restock: statement(`UPDATE items SET available = $2, updated_at = now() WHERE sku = $1`),
  /**
   * Serialises everything that happens to one order's reservation, including the first reserve before any row exists:
   * reserve and release of one order never run side by side, whatever order the transport delivers them in.
   */
  lockOrder: statement(`SELECT pg_advisory_xact_lock(hashtextextended('inventory.reservation:' || $1, 0))`),
  lockReservation: statement(`SELECT order_id, status, lines FROM reservations WHERE order_id = $1 FOR UPDATE`),
  reservation: statement(`SELECT order_id, status, lines FROM reservations WHERE order_id = $1`),
  insertReservation: statement(`INSERT INTO reservations (order_id, status, lines) VALUES ($1, $2, $3::jsonb)`),
  setReservationStatus: statement(`UPDATE reservations SET status = $2, updated_at = now() WHERE order_id = $1`),
};
