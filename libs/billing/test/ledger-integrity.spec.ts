import { createTestApp, type ModuleDb, moduleDbToken, rolesOf, type TestApp } from '@app/platform';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { BillingService } from '../src/application/billing.service';
import { BillingModule } from '../src/billing.module';

/**
 * The database itself keeps the ledger append-only and balanced, whatever SQL the module's runtime role sends: it
 * may only insert into the ledger, and it owns nothing, so it cannot alter a table or switch a trigger off either.
 */
describe('ledger integrity enforced by PostgreSQL', () => {
  let t: TestApp;
  let db: ModuleDb;
  let billing: BillingService;
  let entryId: string;

  beforeAll(async () => {
    t = await createTestApp([BillingModule]);
    db = t.app.get<ModuleDb>(moduleDbToken('billing'));
    billing = t.app.get(BillingService);
    await billing.openAccount('ada');
    await billing.deposit('ada', 1000, randomUUID());
    [{ id: entryId }] = await db.query(`SELECT id FROM journal_entries`);
  });
  afterAll(() => t.close());

  it.each([
    ['update a posting', `UPDATE postings SET amount_cents = amount_cents * 2`, /permission denied for table postings/],
    ['delete a posting', `DELETE FROM postings WHERE account_id = 'customer:ada'`, /permission denied for table postings/],
    ['update an entry', `UPDATE journal_entries SET kind = 'CAPTURE', order_id = gen_random_uuid()`, /permission denied/],
    ['delete an entry', `DELETE FROM journal_entries`, /permission denied/],
    ['truncate the postings', `TRUNCATE postings`, /permission denied/],
    ['truncate the entries', `TRUNCATE journal_entries CASCADE`, /permission denied/],
    ['switch the immutability trigger off', `ALTER TABLE postings DISABLE TRIGGER postings_append_only`, /must be owner of table postings/],
    ['switch every trigger off', `ALTER TABLE journal_entries DISABLE TRIGGER ALL`, /must be owner of table journal_entries/],
    ['drop the immutability trigger', `DROP TRIGGER postings_append_only ON postings`, /must be owner of (table|relation) postings/],
    [
      'replace the trigger function',
      `CREATE OR REPLACE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
      /permission denied for schema billing|must be owner of function/,
    ],
    ['move a balance by hand', `UPDATE accounts SET posted_cents = 0`, /permission denied for table accounts/],
    ['create a table of its own', `CREATE TABLE shadow (x int)`, /permission denied for schema billing/],
  ])('refuses to %s, as the runtime role', async (_label, sql, refusal) => {
    await expect(db.query(sql)).rejects.toThrow(refusal);
    expect(await billing.getAccount('ada')).toEqual({ customerId: 'ada', balanceCents: 1000 });
    expect(await db.query(`SELECT entry_id, account_id, amount_cents FROM postings ORDER BY account_id`)).toEqual([
      { entry_id: entryId, account_id: 'cash', amount_cents: '1000' },
      { entry_id: entryId, account_id: 'customer:ada', amount_cents: '-1000' },
    ]);
  });

  it('refuses at commit an entry whose postings do not sum to zero, and keeps none of it', async () => {
    const id = randomUUID();
    const unbalanced = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [id]);
      await tx.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'cash', 500), ($1, 'customer:ada', -499)`, [
        id,
      ]);
    });
    await expect(unbalanced).rejects.toThrow(`journal entry ${id} does not balance: its 2 posting(s) sum to 1 cents`);
    expect(await db.query(`SELECT 1 FROM journal_entries WHERE id = $1`, [id])).toEqual([]);
    expect(await billing.getAccount('ada')).toMatchObject({ balanceCents: 1000 });
  });

  it('refuses at commit an entry without postings, or with one only', async () => {
    const empty = randomUUID();
    await expect(db.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [empty])).rejects.toThrow(
      /does not balance: its 0 posting/,
    );
    const oneSided = randomUUID();
    const single = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [oneSided]);
      await tx.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'customer:ada', -700)`, [oneSided]);
    });
    await expect(single).rejects.toThrow(/does not balance: its 1 posting/);
  });

  it('refuses a posting that unbalances an entry committed earlier', async () => {
    await expect(
      db.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'revenue', -5)`, [entryId]),
    ).rejects.toThrow(`journal entry ${entryId} does not balance`);
  });

  it('accepts a balanced entry inserted statement by statement (the check waits for commit)', async () => {
    const id = randomUUID();
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [id]);
      await tx.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'cash', 250)`, [id]);
      await tx.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'customer:ada', -250)`, [id]);
    });
    expect(await billing.getAccount('ada')).toMatchObject({ balanceCents: 1250 });
    expect(await billing.verifyLedger()).toMatchObject({
      balanced: true,
      entries: 2,
      postings: 4,
      totalDebitsCents: 1250,
      totalCreditsCents: 1250,
    });
  });

  it('refuses updates and deletes even to the owner role (the triggers stand behind the privileges)', async () => {
    const owner = new Client({ connectionString: t.db.url });
    await owner.connect();
    try {
      await owner.query(`SET ROLE "${rolesOf(t.db.settings, 'billing').owner}"`);
      await expect(owner.query(`UPDATE billing.postings SET amount_cents = 1`)).rejects.toThrow('ledger entries are immutable');
      await expect(owner.query(`DELETE FROM billing.journal_entries`)).rejects.toThrow('ledger entries are immutable');
    } finally {
      await owner.end();
    }
  });

  it('verification names an entry that does not balance (written with the check switched off, as a superuser could)', async () => {
    // Only the owner or a superuser disabling the trigger can get here; the verification must still catch it.
    const id = randomUUID();
    const admin = new Client({ connectionString: t.db.url });
    await admin.connect();
    try {
      await admin.query('BEGIN; SET LOCAL search_path = billing');
      await admin.query(`ALTER TABLE postings DISABLE TRIGGER postings_balance`);
      await admin.query(`ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_balance`);
      await admin.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [id]);
      await admin.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'cash', 10)`, [id]);
      await admin.query(`ALTER TABLE postings ENABLE TRIGGER postings_balance`);
      await admin.query(`ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_balance`);
      await admin.query('COMMIT');
    } finally {
      await admin.end();
    }
    expect(await billing.verifyLedger()).toMatchObject({
      balanced: false,
      unbalancedEntries: [id],
      totalDebitsCents: 1260,
      totalCreditsCents: 1250,
    });
  });
});
