import { InjectModuleDataSource } from '@app/platform';
import { Injectable } from '@nestjs/common';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { UnknownReservation, SkuAlreadyExists, StockLimitExceeded, UnknownSku } from '../domain/errors';
import * as stock from '../domain/stock';
import type { RequestedLine, ReservationOutcome, ReservationStatus, ReservedLine, StockItem } from '../domain/stock';
import { ItemRecord } from '../persistence/item.record';
import { ReservationRecord } from '../persistence/reservation.record';

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
 * Inventory's use cases. Methods that other steps of a larger flow call (reserve, release, commit,
 * returnStock) take an optional EntityManager so they can join a message handler's transaction.
 */
@Injectable()
export class InventoryService {
  constructor(@InjectModuleDataSource('inventory') private readonly db: DataSource) {}

  async createItem(input: NewItem): Promise<StockItem> {
    const inserted = await this.db
      .createQueryBuilder()
      .insert()
      .into(ItemRecord)
      .values({ sku: input.sku, name: input.name, priceCents: input.priceCents, available: input.quantity, reserved: 0 })
      .orIgnore()
      .returning('*')
      .execute();
    if ((inserted.raw as unknown[]).length === 0) throw new SkuAlreadyExists(input.sku);
    return this.getItem(input.sku);
  }

  async getItem(sku: string): Promise<StockItem> {
    const item = await this.db.getRepository(ItemRecord).findOneBy({ sku });
    if (!item) throw new UnknownSku(sku);
    return toStockItem(item);
  }

  async restock(sku: string, quantity: number): Promise<StockItem> {
    return this.db.transaction(async (em) => {
      const [item] = await this.lockItems(em, [sku]);
      if (!item) throw new UnknownSku(sku);
      let next: StockItem;
      try {
        next = stock.restock(item, quantity);
      } catch (error) {
        throw new StockLimitExceeded((error as Error).message);
      }
      await em.getRepository(ItemRecord).update({ sku }, { available: next.available });
      return next;
    });
  }

  /** Reserves all lines for the order or none. Repeating it for the same order returns the first outcome's reservation. */
  async reserve(orderId: string, lines: RequestedLine[], em?: EntityManager): Promise<ReservationOutcome> {
    return this.inTransaction(em, async (tx) => {
      const existing = await tx.getRepository(ReservationRecord).findOne({ where: { orderId }, lock: { mode: 'pessimistic_write' } });
      if (existing?.status === 'RELEASED') return { ok: false, shortages: [], released: true };
      if (existing) return { ok: true, items: [], lines: existing.lines };
      const items = await this.lockItems(
        tx,
        lines.map((l) => l.sku),
      );
      const outcome = stock.reserve(items, lines);
      if (!outcome.ok) return outcome;
      await this.saveLevels(tx, outcome.items);
      await tx.getRepository(ReservationRecord).insert({ orderId, status: 'RESERVED', lines: outcome.lines });
      return outcome;
    });
  }

  /** Gives a reservation's stock back. A no-op if already released; refused once committed. */
  release(orderId: string, em?: EntityManager): Promise<ReservationView> {
    return this.transition(orderId, 'RELEASED', stock.release, em);
  }

  /** The confirmed order takes its reserved stock. */
  commit(orderId: string, em?: EntityManager): Promise<ReservationView> {
    return this.transition(orderId, 'COMMITTED', stock.commit, em);
  }

  /** A confirmed order was cancelled: its stock comes back to availability. */
  returnStock(orderId: string, em?: EntityManager): Promise<ReservationView> {
    return this.transition(orderId, 'RETURNED', stock.returnToStock, em);
  }

  async getReservation(orderId: string): Promise<ReservationView> {
    const r = await this.db.getRepository(ReservationRecord).findOneBy({ orderId });
    if (!r) throw new UnknownReservation(orderId);
    return { orderId: r.orderId, status: r.status, lines: r.lines };
  }

  private async transition(
    orderId: string,
    to: ReservationStatus,
    apply: (items: StockItem[], lines: ReservedLine[]) => StockItem[],
    em?: EntityManager,
  ): Promise<ReservationView> {
    return this.inTransaction(em, async (tx) => {
      const reservation = await tx.getRepository(ReservationRecord).findOne({ where: { orderId }, lock: { mode: 'pessimistic_write' } });
      if (!reservation && to === 'RELEASED') {
        // A release can overtake its reserve (a saga that timed out). Leave a tombstone so the late reserve is refused.
        await tx
          .createQueryBuilder()
          .insert()
          .into(ReservationRecord)
          .values({ orderId, status: 'RELEASED', lines: [] })
          .orIgnore()
          .execute();
        return { orderId, status: 'RELEASED', lines: [] };
      }
      if (!reservation) throw new UnknownReservation(orderId);
      if (reservation.status === to) return { orderId, status: to, lines: reservation.lines };
      if (!stock.canTransition(reservation.status, to)) {
        throw new Error(`Reservation of order ${orderId} is ${reservation.status} and cannot become ${to}`);
      }
      const items = await this.lockItems(
        tx,
        reservation.lines.map((l) => l.sku),
      );
      await this.saveLevels(tx, apply(items, reservation.lines));
      await tx.getRepository(ReservationRecord).update({ orderId }, { status: to });
      return { orderId, status: to, lines: reservation.lines };
    });
  }

  /** Row locks in sku order, so two reservations touching the same items queue instead of deadlocking. */
  private async lockItems(em: EntityManager, skus: string[]): Promise<StockItem[]> {
    const unique = [...new Set(skus)].sort();
    if (unique.length === 0) return [];
    const rows = await em
      .getRepository(ItemRecord)
      .find({ where: { sku: In(unique) }, order: { sku: 'ASC' }, lock: { mode: 'pessimistic_write' } });
    return rows.map(toStockItem);
  }

  private async saveLevels(em: EntityManager, items: StockItem[]): Promise<void> {
    for (const item of items) {
      await em.getRepository(ItemRecord).update({ sku: item.sku }, { available: item.available, reserved: item.reserved });
    }
  }

  private inTransaction<T>(em: EntityManager | undefined, work: (em: EntityManager) => Promise<T>): Promise<T> {
    return em ? work(em) : this.db.transaction(work);
  }
}

function toStockItem(r: ItemRecord): StockItem {
  return { sku: r.sku, name: r.name, priceCents: r.priceCents, available: r.available, reserved: r.reserved };
}
