import { HandleMessage, type MessageContext, MessageConsumer, type PayloadOf } from '@app/platform';
import { Injectable } from '@nestjs/common';
import {
  CommitStock,
  ReleaseStock,
  ReserveStock,
  ReturnStock,
  StockCommitted,
  StockReleased,
  StockReservationFailed,
  StockReserved,
  StockReturned,
} from '../contracts';
import { InventoryService } from './inventory.service';

/**
 * Every command here is answered idempotently from this module's own state (a repeat returns the first outcome),
 * so a duplicate runs the handler again to re-emit its reply: the saga re-sends under the same message id when its
 * reply was lost (e.g. dead-lettered), and would otherwise wait for ever.
 */
const REPLY_AGAIN = { onDuplicate: 'rerun' } as const;

/**
 * Inventory's side of the order saga. Each handler runs in one inventory transaction together with its
 * inbox row, and replies through inventory's outbox in that same transaction.
 */
@MessageConsumer('inventory')
@Injectable()
export class InventoryHandlers {
  constructor(private readonly inventory: InventoryService) {}

  @HandleMessage(ReserveStock, REPLY_AGAIN)
  async reserve({ orderId, lines }: PayloadOf<typeof ReserveStock>, { tx, outbox }: MessageContext): Promise<void> {
    const outcome = await this.inventory.reserve(tx, orderId, lines);
    if (outcome.ok) {
      const totalCents = outcome.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      await outbox.add(StockReserved, { orderId, lines: outcome.lines, totalCents }, { key: orderId });
    } else {
      const reason = outcome.released ? 'RELEASED' : 'OUT_OF_STOCK';
      await outbox.add(StockReservationFailed, { orderId, reason, shortages: outcome.shortages }, { key: orderId });
    }
  }

  @HandleMessage(ReleaseStock, REPLY_AGAIN)
  async release({ orderId }: PayloadOf<typeof ReleaseStock>, { tx, outbox }: MessageContext): Promise<void> {
    await this.inventory.release(tx, orderId);
    await outbox.add(StockReleased, { orderId }, { key: orderId });
  }

  @HandleMessage(CommitStock, REPLY_AGAIN)
  async commit({ orderId }: PayloadOf<typeof CommitStock>, { tx, outbox }: MessageContext): Promise<void> {
    await this.inventory.commit(tx, orderId);
    await outbox.add(StockCommitted, { orderId }, { key: orderId });
  }

  @HandleMessage(ReturnStock, REPLY_AGAIN)
  async returnStock({ orderId }: PayloadOf<typeof ReturnStock>, { tx, outbox }: MessageContext): Promise<void> {
    await this.inventory.returnStock(tx, orderId);
    await outbox.add(StockReturned, { orderId }, { key: orderId });
  }
}
