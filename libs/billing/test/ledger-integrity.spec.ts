import { createTestApp, dataSourceToken, type TestApp } from '@app/platform';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { BillingService } from '../src/application/billing.service';
import { BillingModule } from '../src/billing.module';

/** The database itself keeps the ledger append-only and balanced, whatever SQL the module's role sends. */
describe('ledger integrity enforced by PostgreSQL', () => {
  let t: TestApp;
  let db: DataSource;
  let billing: BillingService;
  let entryId: string;

  beforeAll(async () => {
    t = await createTestApp([BillingModule]);
    db = t.app.get<DataSource>(dataSourceToken('billing'));
    billing = t.app.get(BillingService);
    await billing.openAccount('ada');
    await billing.deposit('ada', 1000, randomUUID());
    [{ id: entryId }] = await db.query(`SELECT id FROM journal_entries`);
  });
  afterAll(() => t.close());

  it.each([
    ['update a posting', `UPDATE postings SET amount_cents = amount_cents * 2`],
    ['delete a posting', `DELETE FROM postings WHERE account_id = 'customer:ada'`],
    ['update an entry', `UPDATE journal_entries SET kind = 'CAPTURE', order_id = gen_random_uuid()`],
    ['delete an entry', `DELETE FROM journal_entries`],
    ['truncate the postings', `TRUNCATE postings`],
    ['truncate the entries', `TRUNCATE journal_entries CASCADE`],
  ])('refuses to %s', async (_label, sql) => {
    await expect(db.query(sql)).rejects.toThrow('ledger entries are immutable: post a reversing entry instead');
    expect(await billing.getAccount('ada')).toEqual({ customerId: 'ada', balanceCents: 1000 });
    expect(await db.query(`SELECT entry_id, account_id, amount_cents FROM postings ORDER BY account_id`)).toEqual([
      { entry_id: entryId, account_id: 'cash', amount_cents: '1000' },
      { entry_id: entryId, account_id: 'customer:ada', amount_cents: '-1000' },
    ]);
  });

  it('refuses at commit an entry whose postings do not sum to zero, and keeps none of it', async () => {
    const id = randomUUID();
    const unbalanced = db.transaction(async (em) => {
      await em.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [id]);
      await em.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'cash', 500), ($1, 'customer:ada', -499)`, [
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
    const single = db.transaction(async (em) => {
      await em.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [oneSided]);
      await em.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'customer:ada', -700)`, [oneSided]);
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
    await db.transaction(async (em) => {
      await em.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [id]);
      await em.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'cash', 250)`, [id]);
      await em.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'customer:ada', -250)`, [id]);
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

  it('verification names an entry that does not balance (written with the check switched off, as a superuser could)', async () => {
    // Only an owner disabling the trigger can get here; the verification must still catch it.
    const id = randomUUID();
    await db.transaction(async (em) => {
      await em.query(`ALTER TABLE postings DISABLE TRIGGER postings_balance`);
      await em.query(`ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_balance`);
      await em.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [id]);
      await em.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'cash', 10)`, [id]);
      await em.query(`ALTER TABLE postings ENABLE TRIGGER postings_balance`);
      await em.query(`ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_balance`);
    });
    expect(await billing.verifyLedger()).toMatchObject({
      balanced: false,
      unbalancedEntries: [id],
      totalDebitsCents: 1260,
      totalCreditsCents: 1250,
    });
  });
});
