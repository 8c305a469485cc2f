import { DatabaseModule } from '@app/platform';
import { Module } from '@nestjs/common';
import { InventoryService } from './application/inventory.service';
import { InventoryController } from './http/inventory.controller';
import { inventoryDatabase } from './persistence';

/** Inventory: items, stock levels and per-order reservations. Owns the `inventory` schema. */
@Module({
  imports: [DatabaseModule.forModule(inventoryDatabase)],
  controllers: [InventoryController],
  providers: [InventoryService],
})
export class InventoryModule {}
