import { messagingMigrations } from '@app/platform';
import { CreateInventory1732600000000 } from './migrations/1732600000000-create-inventory';
import { ItemRecord } from './item.record';
import { ReservationRecord } from './reservation.record';

export { ItemRecord, ReservationRecord };

/** Inventory's schema, role and tables. Migrations are listed in the order they apply. */
export const inventoryDatabase = {
  name: 'inventory',
  entities: [ItemRecord, ReservationRecord],
  migrations: [CreateInventory1732600000000, ...messagingMigrations(1732600000010)],
};
