import { grantToRuntime } from '@app/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A customer account carries the sum of its postings (`posted_cents`), kept by a trigger on postings, so a capture
 * reads one row instead of adding up the account's whole history. The trigger runs with the owner's rights
 * (SECURITY DEFINER): the running app may insert postings but cannot write the sum itself. System accounts (cash,
 * revenue) are left out: every capture would queue on their rows.
 *
 * And the running app's rights, table by table: the ledger is insert-only for it (no UPDATE, no DELETE, no
 * TRUNCATE), payments change state (UPDATE), nothing is deleted. Only the owner role could alter the tables or
 * their triggers, and the app never connects as it.
 */
export class AccountBalances1732700000020 implements MigrationInterface {
  name = 'AccountBalances1732700000020';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN posted_cents bigint NOT NULL DEFAULT 0`);
    await q.query(`UPDATE accounts a SET posted_cents = coalesce((SELECT sum(amount_cents) FROM postings p WHERE p.account_id = a.id), 0)
      WHERE customer_id IS NOT NULL`);
    await q.query(`CREATE FUNCTION accounts_follow_postings() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE accounts SET posted_cents = posted_cents + NEW.amount_cents WHERE id = NEW.account_id AND customer_id IS NOT NULL;
        RETURN NULL;
      END $$`);
    await q.query(`REVOKE ALL ON FUNCTION accounts_follow_postings() FROM PUBLIC`);
    await q.query(`CREATE TRIGGER postings_move_balance AFTER INSERT ON postings FOR EACH ROW EXECUTE FUNCTION accounts_follow_postings()`);
    await grantToRuntime(q, 'SELECT, INSERT', 'accounts', 'journal_entries', 'postings');
    await grantToRuntime(q, 'SELECT, INSERT, UPDATE', 'payments');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER postings_move_balance ON postings`);
    await q.query(`DROP FUNCTION accounts_follow_postings()`);
    await q.query(`ALTER TABLE accounts DROP COLUMN posted_cents`);
  }
}
