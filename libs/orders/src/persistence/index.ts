import { idempotencyKeysMigration, messagingMigrations } from '@app/platform';
import { CreateOrders1732800000000 } from './migrations/1732800000000-create-orders';
import { OrderHistoryRecord } from './order-history.record';
import { OrderRecord } from './order.record';

export { OrderHistoryRecord, OrderRecord };

/** Orders' schema, role and tables. Migrations are listed in the order they apply. */
export const ordersDatabase = {
  name: 'orders',
  entities: [OrderRecord, OrderHistoryRecord],
  migrations: [CreateOrders1732800000000, idempotencyKeysMigration(1732800000001), ...messagingMigrations(1732800000010)],
};
