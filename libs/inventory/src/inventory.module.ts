import { DatabaseModule, MessagingModule } from '@app/platform';
import { Module } from '@nestjs/common';
import { InventoryHandlers } from './application/inventory.handlers';
import { InventoryService } from './application/inventory.service';
import { InventoryController } from './http/inventory.controller';
import { inventoryDatabase } from './persistence';
import { StockCommitted, StockReleased, StockReservationFailed, StockReserved, StockReturned, inventoryConsumes } from './contracts';

/** The messages inventory publishes (its outbox refuses any other) and consumes (checked against its handlers). */
const inventoryMessages = {
  publishes: [StockReserved, StockReservationFailed, StockReleased, StockCommitted, StockReturned],
  consumes: inventoryConsumes,
};

/** Inventory: items, stock levels and per-order reservations. Owns the `inventory` schema. */
@Module({
  imports: [DatabaseModule.forModule(inventoryDatabase), MessagingModule.forModule('inventory', inventoryMessages)],
  controllers: [InventoryController],
  providers: [InventoryService, InventoryHandlers],
})
export class InventoryModule {}
