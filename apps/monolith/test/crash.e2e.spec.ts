import { createTestDatabase, freePort, type TestDatabase } from '@app/platform';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
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
        DATABASE_URL: db.url,
        MODULE_DB_SECRET: db.settings.roleSecret,
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

      const orders = (await admin.query(`SELECT id, customer_id, status, total_cents, lines FROM orders.orders`)).rows as {
        id: string;
        customer_id: string;
        status: string;
        total_cents: string | null;
        lines: { sku: string; quantity: number }[];
      }[];
      expect(orders.length).toBeGreaterThanOrEqual(placed.size);
      expect(placed.size).toBeGreaterThan(KILLS);
      for (const id of placed) expect(orders.some((o) => o.id === id)).toBe(true);
      // an Idempotency-Key retried across crashes placed at most one order
      const { rows: perKey } = await admin.query(
        `SELECT key, count(*)::int AS n FROM orders.idempotency_keys WHERE scope = 'orders.place' GROUP BY key HAVING count(*) > 1`,
      );
      expect(perKey).toEqual([]);
      expect(orders.length).toBeLessThanOrEqual(keys.length);

      const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
      expect(orders.every((o) => o.status === 'CONFIRMED' || o.status === 'CANCELLED')).toBe(true);

      for (const [sku, { stock }] of Object.entries(SKUS)) {
        const sold = confirmed
          .flatMap((o) => o.lines)
          .filter((l) => l.sku === sku)
          .reduce((n, l) => n + l.quantity, 0);
        const { rows } = await admin.query(`SELECT available, reserved FROM inventory.items WHERE sku = $1`, [sku]);
        expect({ sku, ...rows[0] }).toEqual({ sku, available: stock - sold, reserved: 0 });
      }
      for (const [customer, deposit] of Object.entries(CUSTOMERS)) {
        const spent = confirmed.filter((o) => o.customer_id === customer).reduce((n, o) => n + Number(o.total_cents), 0);
        const { rows } = await admin.query(
          `SELECT -coalesce(sum(amount_cents), 0)::bigint AS balance FROM billing.postings WHERE account_id = $1`,
          [`customer:${customer}`],
        );
        expect({ customer, balance: Number(rows[0].balance) }).toEqual({ customer, balance: deposit - spent });
      }

      const { rows: ledger } = await admin.query(`SELECT
          (SELECT count(*) FROM (SELECT entry_id FROM billing.postings GROUP BY entry_id HAVING sum(amount_cents) <> 0) u)::int AS unbalanced,
          (SELECT coalesce(sum(amount_cents), 0) FROM billing.postings)::bigint AS total`);
      expect(ledger[0]).toEqual({ unbalanced: 0, total: '0' });

      const { rows: captures } = await admin.query(
        `SELECT order_id, count(*)::int AS n FROM billing.journal_entries WHERE kind = 'CAPTURE' GROUP BY order_id`,
      );
      expect(captures.filter((c) => c.n > 1)).toEqual([]);
      const { rows: refunds } = await admin.query(`SELECT count(*)::int AS n FROM billing.journal_entries WHERE kind = 'REFUND'`);
      expect(captures.length - refunds[0].n).toBe(confirmed.length);

      const { rows: dead } = await admin.query(`SELECT
          (SELECT count(*) FROM orders.outbox WHERE status = 'dead') + (SELECT count(*) FROM inventory.outbox WHERE status = 'dead')
          + (SELECT count(*) FROM billing.outbox WHERE status = 'dead') AS n`);
      expect(Number(dead[0].n)).toBe(0);
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
