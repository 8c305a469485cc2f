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
 * Inventory's side of the order saga. Each handler runs in one inventory transaction together with its
 * inbox row, and replies through inventory's outbox in that same transaction.
 */
@MessageConsumer('inventory')
@Injectable()
export class InventoryHandlers {
  constructor(private readonly inventory: InventoryService) {}

  @HandleMessage(ReserveStock)
  async reserve({ orderId, lines }: PayloadOf<typeof ReserveStock>, { em, outbox }: MessageContext): Promise<void> {
    const outcome = await this.inventory.reserve(orderId, lines, em);
    if (outcome.ok) {
      const totalCents = outcome.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      await outbox.add(StockReserved, { orderId, lines: outcome.lines, totalCents }, { key: orderId });
    } else {
      const reason = outcome.released ? 'RELEASED' : 'OUT_OF_STOCK';
      await outbox.add(StockReservationFailed, { orderId, reason, shortages: outcome.shortages }, { key: orderId });
    }
  }

  @HandleMessage(ReleaseStock)
  async release({ orderId }: PayloadOf<typeof ReleaseStock>, { em, outbox }: MessageContext): Promise<void> {
    await this.inventory.release(orderId, em);
    await outbox.add(StockReleased, { orderId }, { key: orderId });
  }

  @HandleMessage(CommitStock)
  async commit({ orderId }: PayloadOf<typeof CommitStock>, { em, outbox }: MessageContext): Promise<void> {
    await this.inventory.commit(orderId, em);
    await outbox.add(StockCommitted, { orderId }, { key: orderId });
  }

  @HandleMessage(ReturnStock)
  async returnStock({ orderId }: PayloadOf<typeof ReturnStock>, { em, outbox }: MessageContext): Promise<void> {
    await this.inventory.returnStock(orderId, em);
    await outbox.add(StockReturned, { orderId }, { key: orderId });
  }
}
