import { appDatabaseEnv, createTestDatabase, freePort, type TestDatabase } from '@app/platform';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { MonolithProcess } from './monolith-process';

/**
 * The monolith's connections to PostgreSQL stay within DB_CONNECTIONS (default 12) however hard it is driven: three
 * modules' pools, their relays and the relays' presence share that budget, so instances, rolling deploys and the
 * operators' tools fit in a server's default max_connections (100).
 */
describe('connection budget of one monolith process', () => {
  let db: TestDatabase;
  const logDir = mkdtempSync(path.join(tmpdir(), 'monolith-first-connections-'));
  beforeAll(async () => {
    db = await createTestDatabase('connections');
  });
  afterAll(() => db?.drop());

  it.each([
    ['the default', undefined, 12],
    ['DB_CONNECTIONS=5', '5', 5],
  ])(
    'holds at most %s (%s) connections while 40 clients place orders at once',
    async (_label, setting, budget) => {
      const app = new MonolithProcess(
        {
          ...appDatabaseEnv(db),
          PORT: String(await freePort()),
          NODE_ENV: 'test',
          LOG_FORMAT: 'json',
          ...(setting ? { DB_CONNECTIONS: setting } : {}),
        },
        path.join(logDir, `monolith-${setting ?? 'default'}.log`),
      );
      const sampler = new Client({ connectionString: db.url, application_name: 'connection-budget-sampler' });
      await sampler.connect();
      try {
        await app.start();
        const call = (method: string, url: string, body?: unknown) =>
          fetch(app.baseUrl + url, {
            method,
            headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        await call('POST', '/inventory/items', { sku: `C-${budget}`, name: 'c', priceCents: 1, quantity: 1_000_000 });
        await call('POST', '/billing/accounts', { customerId: `c-${budget}` });
        await call('POST', `/billing/accounts/c-${budget}/deposits`, { amountCents: 1_000_000 });

        let peak = 0;
        let sampling = true;
        const sample = (async () => {
          while (sampling) {
            const { rows } = await sampler.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
            );
            peak = Math.max(peak, rows[0].n);
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        const ids = await Promise.all(
          Array.from({ length: 40 }, async () => {
            const res = await call('POST', '/orders', { customerId: `c-${budget}`, lines: [{ sku: `C-${budget}`, quantity: 1 }] });
            expect(res.status).toBe(202);
            return ((await res.json()) as { id: string }).id;
          }),
        );
        for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
          const { rows } = await sampler.query(`SELECT count(*)::int AS n FROM orders.orders WHERE id = ANY($1) AND status = 'CONFIRMED'`, [
            ids,
          ]);
          if (rows[0].n === ids.length) break;
        }
        sampling = false;
        await sample;
        const { rows } = await sampler.query(`SELECT count(*)::int AS n FROM orders.orders WHERE id = ANY($1) AND status = 'CONFIRMED'`, [
          ids,
        ]);
        expect(rows[0].n).toBe(40); // it still does the work
        expect(peak).toBeGreaterThan(1);
        expect(peak).toBeLessThanOrEqual(budget);
        expect(await app.stop()).toBe(0);
      } finally {
        app.close();
        await sampler.end();
      }
    },
    120_000,
  );
});
