import { idempotencyKeysMigrations, messagingMigrations, migrationsIn } from '@app/platform';
import path from 'node:path';

export { type HistoryRow, type OrderRow, OrdersSql, toOrder, type UndeliveredRow } from './orders.sql';

/**
 * Orders' schema, roles and tables. Its migrations: every file in migrations/ (`npm run migration:create --
 * orders <name>` writes one) and the platform's tables; TypeORM applies them in timestamp order.
 */
export const ordersDatabase = {
  name: 'orders',
  migrations: [
    ...migrationsIn(path.join(__dirname, 'migrations')),
    ...idempotencyKeysMigrations(1732800000001),
    ...messagingMigrations(1732800000010),
  ],
};
