import { idempotencyKeysMigrations, messagingMigrations } from '@app/platform';
import { CreateOrders1732800000000 } from './migrations/1732800000000-create-orders';
import { GrantOrdersRuntime1732800000020 } from './migrations/1732800000020-grant-orders-runtime';
import { OrdersAttention1732800000030 } from './migrations/1732800000030-orders-attention';

export { type HistoryRow, type OrderRow, OrdersSql, toOrder, type UndeliveredRow } from './orders.sql';

/** Orders' schema, roles and tables. Migrations are listed in the order they apply. */
export const ordersDatabase = {
  name: 'orders',
  migrations: [
    CreateOrders1732800000000,
    ...idempotencyKeysMigrations(1732800000001),
    ...messagingMigrations(1732800000010),
    GrantOrdersRuntime1732800000020,
    OrdersAttention1732800000030,
  ],
};
