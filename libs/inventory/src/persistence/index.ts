import { messagingMigrations, migrationsIn } from '@app/platform';
import path from 'node:path';

export { InventorySql, type ItemRow, type ReservationRow, toStockItem } from './inventory.sql';

/**
 * Inventory's schema, roles and tables.
 * Its migrations: every file in migrations/ (`npm run migration:create -- inventory <name>` writes one), and the
 * platform's tables. TypeORM applies them in timestamp order.
 */
export const inventoryDatabase = {
  name: 'inventory',
  migrations: [...migrationsIn(path.join(__dirname, 'migrations')), ...messagingMigrations(1732600000010)],
};
