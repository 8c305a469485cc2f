import { messagingMigrations } from '@app/platform';
import { CreateInventory1732600000000 } from './migrations/1732600000000-create-inventory';
import { GrantInventoryRuntime1732600000020 } from './migrations/1732600000020-grant-inventory-runtime';

export { InventorySql, type ItemRow, type ReservationRow, toStockItem } from './inventory.sql';

/** Inventory's schema, roles and tables. Migrations are listed in the order they apply. */
export const inventoryDatabase = {
  name: 'inventory',
  migrations: [CreateInventory1732600000000, ...messagingMigrations(1732600000010), GrantInventoryRuntime1732600000020],
};
