import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger (accounts, journal_entries, postings) and the payments of orders. The ledger's rules are
 * enforced here as well as in code, so that no bug or hand-written SQL can break them:
 * - entries and postings are insert-only (UPDATE, DELETE and TRUNCATE raise);
 * - at commit, every entry has at least two postings that sum to zero (a deferred constraint trigger).
 */
export class CreateBilling1732700000000 implements MigrationInterface {
  name = 'CreateBilling1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE accounts (
      id text PRIMARY KEY,
      customer_id text UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT accounts_id_names_owner CHECK (CASE WHEN customer_id IS NULL THEN id IN ('cash', 'revenue') ELSE id = 'customer:' || customer_id END))`);
    await q.query(`INSERT INTO accounts (id) VALUES ('cash'), ('revenue')`);

    await q.query(`CREATE TABLE journal_entries (
      id uuid PRIMARY KEY,
      kind text NOT NULL CONSTRAINT journal_entries_kind CHECK (kind IN ('DEPOSIT', 'CAPTURE', 'REFUND')),
      order_id uuid,
      reverses_entry_id uuid UNIQUE REFERENCES journal_entries (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT journal_entries_order_only_for_payments CHECK ((kind = 'DEPOSIT') = (order_id IS NULL)),
      CONSTRAINT journal_entries_refund_reverses_an_entry CHECK ((kind = 'REFUND') = (reverses_entry_id IS NOT NULL)))`);
    // A second capture of one order is a bug even if the payments table were bypassed.
    await q.query(`CREATE UNIQUE INDEX journal_entries_one_capture_per_order ON journal_entries (order_id) WHERE kind = 'CAPTURE'`);

    // amount_cents is signed: debit > 0, credit < 0. A customer's balance is -SUM(amount_cents) of their account.
    await q.query(`CREATE TABLE postings (
      entry_id uuid NOT NULL REFERENCES journal_entries (id),
      account_id text NOT NULL REFERENCES accounts (id),
      amount_cents bigint NOT NULL CONSTRAINT postings_amount_not_zero CHECK (amount_cents <> 0),
      PRIMARY KEY (entry_id, account_id))`);
    await q.query(`CREATE INDEX postings_by_account ON postings (account_id) INCLUDE (amount_cents)`);

    await q.query(`CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger entries are immutable: post a reversing entry instead'
          USING DETAIL = format('%s on %s was refused.', TG_OP, TG_TABLE_NAME);
      END $$`);
    await q.query(`CREATE FUNCTION ledger_entry_must_balance() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      DECLARE
        entry uuid;
        posting_count bigint;
        net numeric;
      BEGIN
        IF TG_TABLE_NAME = 'postings' THEN entry := NEW.entry_id; ELSE entry := NEW.id; END IF;
        SELECT count(*), coalesce(sum(amount_cents), 0) INTO posting_count, net FROM postings WHERE entry_id = entry;
        IF posting_count < 2 OR net <> 0 THEN
          RAISE EXCEPTION 'journal entry % does not balance: its % posting(s) sum to % cents', entry, posting_count, net
            USING ERRCODE = 'check_violation', HINT = 'An entry needs at least two postings whose amounts sum to zero.';
        END IF;
        RETURN NULL;
      END $$`);
    for (const table of ['journal_entries', 'postings']) {
      await q.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()`,
      );
      await q.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only()`,
      );
      // Deferred to commit, so an entry and its postings can be inserted one statement at a time.
      await q.query(`CREATE CONSTRAINT TRIGGER ${table}_balance AFTER INSERT ON ${table}
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_must_balance()`);
    }

    await q.query(`CREATE TABLE payments (
      order_id uuid PRIMARY KEY,
      status text NOT NULL CHECK (status IN ('CAPTURED', 'DECLINED', 'REFUNDED', 'VOIDED')),
      customer_id text,
      amount_cents bigint CHECK (amount_cents > 0),
      decline_reason text CHECK (decline_reason IN ('INSUFFICIENT_FUNDS', 'NO_ACCOUNT')),
      decline_detail text,
      refund_reason text,
      capture_entry_id uuid UNIQUE REFERENCES journal_entries (id),
      refund_entry_id uuid UNIQUE REFERENCES journal_entries (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT payments_tombstone_has_no_order CHECK ((status = 'VOIDED') = (customer_id IS NULL) AND (customer_id IS NULL) = (amount_cents IS NULL)),
      CONSTRAINT payments_declined_has_reason CHECK ((status = 'DECLINED') = (decline_reason IS NOT NULL)),
      CONSTRAINT payments_captured_has_entry CHECK ((status IN ('CAPTURED', 'REFUNDED')) = (capture_entry_id IS NOT NULL)),
      CONSTRAINT payments_refunded_has_entry CHECK ((status = 'REFUNDED') = (refund_entry_id IS NOT NULL)))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE payments`);
    await q.query(`DROP TABLE postings`);
    await q.query(`DROP TABLE journal_entries`);
    await q.query(`DROP FUNCTION ledger_entry_must_balance()`);
    await q.query(`DROP FUNCTION ledger_is_append_only()`);
    await q.query(`DROP TABLE accounts`);
  }
}
