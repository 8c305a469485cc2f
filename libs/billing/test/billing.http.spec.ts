import { TEST_ADMIN_TOKEN, createTestApp, type ModuleDb, moduleDbToken, type TestApp } from '@app/platform';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { BillingModule } from '../src/billing.module';

describe('billing over HTTP (module booted alone)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const deposit = (customerId: string, body: unknown, key: string | null = randomUUID()) => {
    const req = http().post(`/billing/accounts/${customerId}/deposits`);
    return key === null ? req.send(body as object) : req.set('Idempotency-Key', key).send(body as object);
  };
  const balanceOf = async (customerId: string) =>
    (await http().get(`/billing/accounts/${customerId}`).expect(200)).body.balanceCents as number;
  const db = () => t.app.get<ModuleDb>(moduleDbToken('billing'));
  const accountCount = async () => Number((await db().query(`SELECT count(*) AS n FROM accounts`))[0].n);
  const ledgerVerification = async () =>
    (await http().get('/billing/ledger/verification').auth(TEST_ADMIN_TOKEN, { type: 'bearer' }).expect(200)).body;
  const expectLedgerBalanced = async () => expect(await ledgerVerification()).toMatchObject({ balanced: true, unbalancedEntries: [] });

  beforeAll(async () => {
    t = await createTestApp([BillingModule]);
  });
  afterAll(() => t.close());

  it('opens an account with a zero balance, once', async () => {
    await http().post('/billing/accounts').send({ customerId: 'ada' }).expect(201, { customerId: 'ada', balanceCents: 0 });
    const res = await http().post('/billing/accounts').send({ customerId: 'ada' }).expect(409);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: expect.stringMatching(/account-exists$/),
      detail: expect.stringContaining("'ada' already has an account"),
    });
    await http().get('/billing/accounts/ada').expect(200, { customerId: 'ada', balanceCents: 0 });
  });

  it('deposits, and a repeat with the same key and body replays the first response without depositing again', async () => {
    await http().post('/billing/accounts').send({ customerId: 'bob' }).expect(201);
    const key = randomUUID();
    await deposit('bob', { amountCents: 5000 }, key).expect(201, { balanceCents: 5000 });
    await deposit('bob', { amountCents: 700 }).expect(201, { balanceCents: 5700 });
    await deposit('bob', { amountCents: 5000 }, key).expect(201, { balanceCents: 5000 });
    expect(await balanceOf('bob')).toBe(5700);
    await expectLedgerBalanced();
  });

  it('refuses a reused key with a different body (422) or another customer (422), and deposits nothing', async () => {
    await http().post('/billing/accounts').send({ customerId: 'cy' }).expect(201);
    await http().post('/billing/accounts').send({ customerId: 'cy2' }).expect(201);
    const key = randomUUID();
    await deposit('cy', { amountCents: 100 }, key).expect(201);
    const res = await deposit('cy', { amountCents: 999 }, key).expect(422);
    expect(res.body).toMatchObject({
      type: expect.stringMatching(/idempotency-key-reused$/),
      detail: expect.stringContaining('Use a new key'),
    });
    await deposit('cy2', { amountCents: 100 }, key).expect(422);
    expect(await balanceOf('cy')).toBe(100);
    expect(await balanceOf('cy2')).toBe(0);
  });

  it('requires an Idempotency-Key header', async () => {
    await http().post('/billing/accounts').send({ customerId: 'dee' }).expect(201);
    const res = await deposit('dee', { amountCents: 100 }, null).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ in: 'header', message: expect.stringContaining('Idempotency-Key header is required') }),
    ]);
    await deposit('dee', { amountCents: 100 }, '').expect(400);
    expect(await balanceOf('dee')).toBe(0);
  });

  it('answers 404 for an unknown customer, and leaves the key unused', async () => {
    const key = randomUUID();
    const res = await deposit('ghost', { amountCents: 100 }, key).expect(404);
    expect(res.body).toMatchObject({
      type: expect.stringMatching(/unknown-account$/),
      detail: expect.stringContaining('POST /billing/accounts'),
    });
    await http().get('/billing/accounts/ghost').expect(404);
    await http().post('/billing/accounts').send({ customerId: 'ghost' }).expect(201);
    await deposit('ghost', { amountCents: 100 }, key).expect(201, { balanceCents: 100 });
  });

  it('verifies the ledger: every entry and the whole ledger sum to zero', async () => {
    await http().post('/billing/accounts').send({ customerId: 'eve' }).expect(201);
    const before = await ledgerVerification();
    await deposit('eve', { amountCents: 1234 }).expect(201);
    const after = await ledgerVerification();
    expect(after).toEqual({
      balanced: true,
      entries: before.entries + 1,
      postings: before.postings + 2,
      totalDebitsCents: before.totalDebitsCents + 1234,
      totalCreditsCents: before.totalCreditsCents + 1234,
      unbalancedEntries: [],
      driftedAccounts: [],
    });
  });

  it('refuses a deposit that would take the balance past the cap with 422, and posts nothing', async () => {
    await http().post('/billing/accounts').send({ customerId: 'rich' }).expect(201);
    // Reaching the cap through the API would take 10,000 deposits; a direct (balanced) entry gets there at once.
    const nearCap = 100_000_000_000_000 - 50;
    await db().transaction(async (tx) => {
      const id = randomUUID();
      await tx.query(`INSERT INTO journal_entries (id, kind) VALUES ($1, 'DEPOSIT')`, [id]);
      await tx.query(`INSERT INTO postings (entry_id, account_id, amount_cents) VALUES ($1, 'cash', $2), ($1, 'customer:rich', $3)`, [
        id,
        nearCap,
        -nearCap,
      ]);
    });
    await deposit('rich', { amountCents: 50 }).expect(201, { balanceCents: 100_000_000_000_000 });
    const res = await deposit('rich', { amountCents: 1 }).expect(422);
    expect(res.body).toMatchObject({
      type: expect.stringMatching(/balance-limit$/),
      detail: expect.stringContaining('Deposit a smaller amount'),
    });
    expect(await balanceOf('rich')).toBe(100_000_000_000_000);
    await expectLedgerBalanced();
  });

  describe('bad input', () => {
    beforeAll(async () => {
      await http().post('/billing/accounts').send({ customerId: 'val' }).expect(201);
    });

    it.each([
      ['a negative amount', { amountCents: -100 }, 'amountCents'],
      ['a zero amount', { amountCents: 0 }, 'amountCents'],
      ['a fractional amount', { amountCents: 10.5 }, 'amountCents'],
      ['a huge amount', { amountCents: 1e15 }, 'amountCents'],
      ['a string amount', { amountCents: '100' }, 'amountCents'],
      ['a missing amount', {}, 'amountCents'],
      ['an unknown field', { amountCents: 100, currency: 'EUR' }, ''],
    ])('refuses a deposit with %s: 400 problem naming the field, nothing written', async (_label, body, field) => {
      const verification = await ledgerVerification();
      const res = await deposit('val', body).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.type).toMatch(/validation-failed$/);
      if (field) expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, in: 'body' })]));
      expect(await balanceOf('val')).toBe(0);
      expect(await ledgerVerification()).toEqual(verification);
    });

    it.each([
      ['an over-long customerId', 'x'.repeat(65)],
      ['a customerId with a space', 'has%20space'],
      ['a customerId with a colon', 'customer:val'],
    ])('refuses %s in the path with 400', async (_label, customerId) => {
      const res = await deposit(customerId, { amountCents: 100 }).expect(400);
      expect(res.body).toMatchObject({
        type: expect.stringMatching(/validation-failed$/),
        errors: [expect.objectContaining({ in: 'path' })],
      });
      await http().get(`/billing/accounts/${customerId}`).expect(400);
    });

    it.each([
      ['an over-long customerId', { customerId: 'x'.repeat(65) }, 'customerId'],
      ['a bad customerId', { customerId: 'a/b' }, 'customerId'],
      ['an empty customerId', { customerId: '' }, 'customerId'],
      ['a numeric customerId', { customerId: 42 }, 'customerId'],
      ['an unknown field', { customerId: 'new1', balanceCents: 1000 }, ''],
    ])('refuses to open an account with %s: 400, nothing written', async (_label, body, field) => {
      const accounts = await accountCount();
      const res = await http().post('/billing/accounts').send(body).expect(400);
      expect(res.body.type).toMatch(/validation-failed$/);
      if (field) expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, in: 'body' })]));
      expect(await accountCount()).toBe(accounts);
    });

    it('refuses malformed JSON with a 400 problem, on both writes', async () => {
      for (const path of ['/billing/accounts', '/billing/accounts/val/deposits']) {
        const res = await http()
          .post(path)
          .set('content-type', 'application/json')
          .set('Idempotency-Key', randomUUID())
          .send('{"amountCents": 1')
          .expect(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.detail).toMatch(/not valid JSON/);
      }
      expect(await balanceOf('val')).toBe(0);
    });
  });
});
