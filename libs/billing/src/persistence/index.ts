import { idempotencyKeysMigrations, messagingMigrations, migrationsIn } from '@app/platform';
import path from 'node:path';

export { BillingSql, type DeclineReason, type PaymentRow, type PaymentStatus } from './billing.sql';

/**
 * Billing's schema, roles and tables.
 * Its migrations: every file in migrations/ (`npm run migration:create -- billing <name>` writes one), and the
 * platform's tables. TypeORM applies them in timestamp order.
 */
export const billingDatabase = {
  name: 'billing',
  migrations: [
    ...migrationsIn(path.join(__dirname, 'migrations')),
    ...idempotencyKeysMigrations(1732700000001),
    ...messagingMigrations(1732700000010),
  ],
};
