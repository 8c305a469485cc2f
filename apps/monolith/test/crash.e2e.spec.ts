import { appDatabaseEnv, createTestDatabase, freePort, type TestDatabase } from '@app/platform';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { expectSettledInvariants } from './crash-invariants';
import { MonolithProcess } from './monolith-process';

const KILLS = 10;
const SKUS = { BOLT: { price: 150, stock: 400 }, NUT: { price: 90, stock: 400 }, GEAR: { price: 1_200, stock: 60 } };
const CUSTOMERS = { ann: 60_000, bob: 30_000, cy: 8_000 };

/**
 * Orders flow while the monolith is killed with SIGKILL at random moments and restarted. Afterwards every
 * order has settled, stock and balances match the confirmed orders exactly, the ledger balances, and no
 * payment was captured twice.
 */
describe('crash test: SIGKILL while orders flow', () => {
  let db: TestDatabase;
  let app: MonolithProcess;
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'monolith-first-crash-')), 'monolith.log');

  beforeAll(async () => {
    db = await createTestDatabase('crash');
    app = new MonolithProcess(
      {
        ...appDatabaseEnv(db),
        PORT: String(await freePort()),
        NODE_ENV: 'test',
        LOG_FORMAT: 'json',
        RELAY_LEASE_MS: '1500',
        RELAY_POLL_INTERVAL_MS: '100',
        SAGA_STEP_TIMEOUT_MS: '1500',
        SAGA_MAX_ATTEMPTS: '3',
      },
      logFile,
    );
    await app.start();
  });
  afterAll(async () => {
    app?.close();
    await db?.drop();
  });

  it(`loses nothing across ${KILLS} kills`, async () => {
    const call = (method: string, url: string, body?: unknown, key?: string) =>
      fetch(app.baseUrl + url, {
        method,
        headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    for (const [sku, { price, stock }] of Object.entries(SKUS)) {
      expect((await call('POST', '/inventory/items', { sku, name: sku, priceCents: price, quantity: stock })).status).toBe(201);
    }
    for (const [customerId, deposit] of Object.entries(CUSTOMERS)) {
      expect((await call('POST', '/billing/accounts', { customerId })).status).toBe(201);
      expect((await call('POST', `/billing/accounts/${customerId}/deposits`, { amountCents: deposit }, randomUUID())).status).toBe(201);
    }

    // Clients keep placing (and sometimes cancelling) orders, retrying with the same key until they get an answer.
    const placed = new Set<string>();
    const keys: string[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const key = randomUUID();
        keys.push(key);
        const customer = Object.keys(CUSTOMERS)[randomInt(3)];
        const skus = Object.keys(SKUS);
        const lines = [{ sku: skus[randomInt(3)], quantity: 1 + randomInt(4) }];
        for (let attempt = 0; running || attempt < 50; attempt++) {
          let res: { status: number; body: string } | undefined;
          try {
            const r = await call('POST', '/orders', { customerId: customer, lines }, key);
            res = { status: r.status, body: await r.text() };
          } catch {
            res = undefined; // the app is down or was killed mid-answer: retry with the same key
          }
          if (res?.status === 202) {
            const id = (JSON.parse(res.body) as { id: string }).id;
            placed.add(id);
            if (randomInt(10) === 0) await call('POST', `/orders/${id}/cancel`, undefined, randomUUID()).catch(() => undefined);
            break;
          }
          if (res && res.status !== 409) throw new Error(`POST /orders answered ${res.status}: ${res.body}`);
          await sleep(50);
        }
      }
    };
    const clients = [client(), client(), client()];

    for (let kill = 1; kill <= KILLS; kill++) {
      await sleep(200 + randomInt(700));
      await app.kill();
      await sleep(randomInt(200));
      await app.start();
    }
    running = false;
    await Promise.all(clients);

    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      // Every order settles (the relays resume from the outboxes after the last restart).
      await waitFor(async () => {
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM orders.orders WHERE status = 'PENDING'`);
        return rows[0].n === 0;
      }, 90_000);
      await waitFor(async () => {
        const { rows } = await admin.query(`SELECT
            (SELECT count(*) FROM orders.outbox WHERE status = 'pending') + (SELECT count(*) FROM inventory.outbox WHERE status = 'pending')
            + (SELECT count(*) FROM billing.outbox WHERE status = 'pending' AND (not_before IS NULL OR not_before <= now())) AS n`);
        return Number(rows[0].n) === 0;
      }, 30_000);

      const orders = await expectSettledInvariants({ orders: admin, billing: admin }, { skus: SKUS, customers: CUSTOMERS });
      expect(orders.length).toBeGreaterThanOrEqual(placed.size);
      expect(placed.size).toBeGreaterThan(KILLS);
      for (const id of placed) expect(orders.some((o) => o.id === id)).toBe(true);
      // an Idempotency-Key retried across crashes placed at most one order
      const { rows: perKey } = await admin.query(
        `SELECT key, count(*)::int AS n FROM orders.idempotency_keys WHERE scope = 'orders.place' GROUP BY key HAVING count(*) > 1`,
      );
      expect(perKey).toEqual([]);
      expect(orders.length).toBeLessThanOrEqual(keys.length);
    } finally {
      await admin.end();
    }
    expect(await app.stop()).toBe(0); // and it still drains cleanly on SIGTERM
  }, 240_000);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not settled within ${timeoutMs} ms`);
    await sleep(200);
  }
}
