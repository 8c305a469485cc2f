import { InjectModuleDb, type ModuleDb, type Tx } from '@app/platform';
import { Injectable } from '@nestjs/common';
import { SkuAlreadyExists, StockLimitExceeded, UnknownReservation, UnknownSku } from '../domain/errors';
import * as stock from '../domain/stock';
import type { RequestedLine, ReservationOutcome, ReservationStatus, ReservedLine, StockItem } from '../domain/stock';
import { InventorySql as Sql, type ItemRow, type ReservationRow, toStockItem } from '../persistence';

export interface NewItem {
  sku: string;
  name: string;
  priceCents: number;
  quantity: number;
}

export interface ReservationView {
  orderId: string;
  status: ReservationStatus;
  lines: ReservedLine[];
}

/**
 * Inventory's use cases. The steps of the order saga (reserve, release, commit, returnStock) run in the caller's
 * transaction (a message handler's), first taking the order's reservation lock, so one order's steps never overlap.
 */
@Injectable()
export class InventoryService {
  constructor(@InjectModuleDb('inventory') private readonly db: ModuleDb) {}

  async createItem(input: NewItem): Promise<StockItem> {
    const [row] = await this.db.query<ItemRow>(Sql.insertItem, [input.sku, input.name, input.priceCents, input.quantity]);
    if (!row) throw new SkuAlreadyExists(input.sku);
    return toStockItem(row);
  }

  async getItem(sku: string): Promise<StockItem> {
    const [row] = await this.db.query<ItemRow>(Sql.item, [sku]);
    if (!row) throw new UnknownSku(sku);
    return toStockItem(row);
  }

  async restock(sku: string, quantity: number): Promise<StockItem> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<ItemRow>(Sql.lockItems, [[sku]]);
      if (!row) throw new UnknownSku(sku);
      let next: StockItem;
      try {
        next = stock.restock(toStockItem(row), quantity);
      } catch (error) {
        throw new StockLimitExceeded((error as Error).message);
      }
      tx.execute(Sql.restock, [sku, next.available]);
      return next;
    });
  }

  /** Reserves all lines for the order or none. Repeating it for the same order returns the first outcome's reservation. */
  async reserve(tx: Tx, orderId: string, lines: RequestedLine[]): Promise<ReservationOutcome> {
    tx.execute(Sql.lockOrder, [orderId]);
    const existing = tx.query<ReservationRow>(Sql.lockReservation, [orderId]);
    const items = tx.query<ItemRow>(Sql.lockItems, [[...new Set(lines.map((l) => l.sku))].sort()]);
    const [[reservation], locked] = await Promise.all([existing, items]);
    if (reservation?.status === 'RELEASED') return { ok: false, shortages: [], released: true };
    if (reservation) return { ok: true, items: [], lines: reservation.lines };
    const outcome = stock.reserve(locked.map(toStockItem), lines);
    if (!outcome.ok) return outcome;
    saveLevels(tx, outcome.items);
    tx.execute(Sql.insertReservation, [orderId, 'RESERVED', JSON.stringify(outcome.lines)]);
    return outcome;
  }

  /** Gives a reservation's stock back. A no-op if already released; refused once committed. */
  release(tx: Tx, orderId: string): Promise<ReservationView> {
    return this.transition(tx, orderId, 'RELEASED', stock.release);
  }

  /** The confirmed order takes its reserved stock. */
  commit(tx: Tx, orderId: string): Promise<ReservationView> {
    return this.transition(tx, orderId, 'COMMITTED', stock.commit);
  }

  /** A confirmed order was cancelled: its stock comes back to availability. */
  returnStock(tx: Tx, orderId: string): Promise<ReservationView> {
    return this.transition(tx, orderId, 'RETURNED', stock.returnToStock);
  }

  async getReservation(orderId: string): Promise<ReservationView> {
    const [r] = await this.db.query<ReservationRow>(Sql.reservation, [orderId]);
    if (!r) throw new UnknownReservation(orderId);
    return { orderId: r.order_id, status: r.status, lines: r.lines };
  }

  private async transition(
    tx: Tx,
    orderId: string,
    to: ReservationStatus,
    apply: (items: StockItem[], lines: ReservedLine[]) => StockItem[],
  ): Promise<ReservationView> {
    tx.execute(Sql.lockOrder, [orderId]);
    const found = tx.query<ReservationRow>(Sql.lockReservation, [orderId]);
    const items = tx.query<ItemRow>(Sql.lockReservedItems, [orderId]);
    const [[reservation], locked] = await Promise.all([found, items]);
    if (!reservation && to === 'RELEASED') {
      // A release can overtake its reserve (a saga that timed out). Leave a tombstone so the late reserve is refused.
      tx.execute(Sql.insertReservation, [orderId, 'RELEASED', '[]']);
      return { orderId, status: 'RELEASED', lines: [] };
    }
    if (!reservation) throw new UnknownReservation(orderId);
    if (reservation.status === to) return { orderId, status: to, lines: reservation.lines };
    if (!stock.canTransition(reservation.status, to)) {
      throw new Error(`Reservation of order ${orderId} is ${reservation.status} and cannot become ${to}`);
    }
    saveLevels(tx, apply(locked.map(toStockItem), reservation.lines));
    tx.execute(Sql.setReservationStatus, [orderId, to]);
    return { orderId, status: to, lines: reservation.lines };
  }
}

function saveLevels(tx: Tx, items: StockItem[]): void {
  if (items.length === 0) return;
  tx.execute(Sql.saveLevels, [items.map((i) => i.sku), items.map((i) => i.available), items.map((i) => i.reserved)]);
}
