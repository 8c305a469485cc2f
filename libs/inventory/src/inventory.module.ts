import { DatabaseModule, MessagingModule } from '@app/platform';
import { Module } from '@nestjs/common';
import { InventoryHandlers } from './application/inventory.handlers';
import { InventoryService } from './application/inventory.service';
import { InventoryController } from './http/inventory.controller';
import { inventoryDatabase } from './persistence';

/** Inventory: items, stock levels and per-order reservations. Owns the `inventory` schema. */
@Module({
  imports: [DatabaseModule.forModule(inventoryDatabase), MessagingModule.forModule('inventory')],
  controllers: [InventoryController],
  providers: [InventoryService, InventoryHandlers],
})
export class InventoryModule {}
