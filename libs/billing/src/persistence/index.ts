import { idempotencyKeysMigration, messagingMigrations } from '@app/platform';
import { AccountRecord } from './account.record';
import { JournalEntryRecord } from './journal-entry.record';
import { CreateBilling1732700000000 } from './migrations/1732700000000-create-billing';
import { PaymentRecord } from './payment.record';
import { PostingRecord } from './posting.record';

export { AccountRecord, JournalEntryRecord, PaymentRecord, PostingRecord };

/** Billing's schema, role and tables. Migrations are listed in the order they apply. */
export const billingDatabase = {
  name: 'billing',
  entities: [AccountRecord, JournalEntryRecord, PostingRecord, PaymentRecord],
  migrations: [CreateBilling1732700000000, idempotencyKeysMigration(1732700000001), ...messagingMigrations(1732700000010)],
};
