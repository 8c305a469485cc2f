import { createTestApp, type ModuleDb, moduleDbToken, type TestApp } from '@app/platform';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { BillingService } from '../src/application/billing.service';
import { BillingModule } from '../src/billing.module';

describe('concurrent money movements on one account', () => {
  let t: TestApp;
  let billing: BillingService;
  let db: ModuleDb;
  const capture = (orderId: string, customerId: string, amountCents: number) =>
    db.transaction((tx) => billing.capturePayment(tx, { orderId, customerId, amountCents }));
  const http = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    t = await createTestApp([BillingModule]);
    billing = t.app.get(BillingService);
    db = t.app.get<ModuleDb>(moduleDbToken('billing'));
  });
  afterAll(() => t.close());

  it('40 deposits and 40 captures in parallel neither lose money nor overdraw', async () => {
    await billing.openAccount('hot');
    await billing.deposit('hot', 1_000, randomUUID());
    // Deposits of 100 and captures of 150, interleaved: 5,000 comes in in all, the captures want 6,000.
    const work = Array.from({ length: 40 }, () => [billing.deposit('hot', 100, randomUUID()), capture(randomUUID(), 'hot', 150)]).flat();
    const outcomes = (await Promise.all(work)).filter((r) => 'outcome' in r);
    const captured = outcomes.filter((o) => o.outcome === 'captured').length;
    expect(outcomes).toHaveLength(40);
    expect(outcomes.every((o) => o.outcome === 'captured' || o.reason === 'INSUFFICIENT_FUNDS')).toBe(true);
    const { balanceCents } = await billing.getAccount('hot');
    expect(balanceCents).toBe(5_000 - captured * 150);
    expect(balanceCents).toBeGreaterThanOrEqual(0);

    // Then 40 captures race for what is left, with nothing coming in: exactly as many as the balance covers succeed.
    const rest = await Promise.all(Array.from({ length: 40 }, () => capture(randomUUID(), 'hot', 150)));
    const capturedLast = rest.filter((o) => o.outcome === 'captured').length;
    expect(capturedLast).toBe(Math.floor(balanceCents / 150));
    expect(await billing.getAccount('hot')).toEqual({ customerId: 'hot', balanceCents: balanceCents % 150 });
    const entries = 1 + 40 + captured + capturedLast;
    expect(await billing.verifyLedger()).toMatchObject({ balanced: true, entries, postings: 2 * entries });
  });

  it('the same deposit sent 5 times at once with one key is deposited once', async () => {
    await http().post('/billing/accounts').send({ customerId: 'twice' }).expect(201);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        http().post('/billing/accounts/twice/deposits').set('Idempotency-Key', key).send({ amountCents: 2500 }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses).toContain(201);
    for (const r of responses) {
      if (r.status === 201) expect(r.body).toEqual({ balanceCents: 2500 });
      else expect(r.body.type).toMatch(/idempotency-key-in-flight$/);
    }
    await http().get('/billing/accounts/twice').expect(200, { customerId: 'twice', balanceCents: 2500 });
    // Once the first finished, a retry replays it.
    await http()
      .post('/billing/accounts/twice/deposits')
      .set('Idempotency-Key', key)
      .send({ amountCents: 2500 })
      .expect(201, { balanceCents: 2500 });
    await http().get('/billing/accounts/twice').expect(200, { customerId: 'twice', balanceCents: 2500 });
  });
});
