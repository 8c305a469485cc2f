import { idempotencyKeysMigrations, messagingMigrations } from '@app/platform';
import { CreateBilling1732700000000 } from './migrations/1732700000000-create-billing';
import { AccountBalances1732700000020 } from './migrations/1732700000020-account-balances';

export { BillingSql, type DeclineReason, type PaymentRow, type PaymentStatus } from './billing.sql';

/** Billing's schema, roles and tables. Migrations are listed in the order they apply. */
export const billingDatabase = {
  name: 'billing',
  migrations: [
    CreateBilling1732700000000,
    ...idempotencyKeysMigrations(1732700000001),
    ...messagingMigrations(1732700000010),
    AccountBalances1732700000020,
  ],
};
