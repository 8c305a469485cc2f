// The peers must do the work they are compared on: the DBOS app runs the saga on the monolith's tables (and
// compensates), and each queue runner handles every message, in key order when asked. No timings are asserted.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '@app/platform/src/testing/free-port';
import { TEST_SERVER_ENV, type TestDatabase, createTestDatabase } from '@app/platform/src/testing/test-database';

const repo = path.resolve(__dirname, '../../../..');
const MIGRATE_JS = path.join(repo, 'dist/apps/monolith/src/migrate.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DBOS peer: the order saga on DBOS Transact, on the monolith tables', () => {
  let db: TestDatabase;
  let app: ChildProcess;
  let base: string;
  let sql: Client;
  let output = '';

  const post = async (url: string, body: unknown, key?: string) => {
    const res = await fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
  };
  const settled = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await sql.query(`SELECT status, reason FROM orders.orders WHERE id = $1 AND saga->>'step' = 'DONE'`, [id]);
      if (rows[0]) return rows[0] as { status: string; reason: string | null };
      await sleep(50);
    }
    throw new Error(`order ${id} did not settle within 10 s; app output:\n${output.slice(-2000)}`);
  };

  beforeAll(async () => {
    if (!existsSync(MIGRATE_JS)) throw new Error(`${MIGRATE_JS} is missing: run 'npx nest build' (npm test does it).`);
    db = await createTestDatabase('peer_dbos');
    base = `http://127.0.0.1:${await freePort()}`;
    app = spawn(process.execPath, [path.join(repo, 'tools/bench/peers/dbos/main.mjs')], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        PORT: new URL(base).port,
        MODULE_DB_SECRET: db.settings.roleSecret,
        MONOLITH_MIGRATE_JS: MIGRATE_JS,
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    app.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    for (let i = 0; ; i++) {
      if (app.exitCode !== null) throw new Error(`the DBOS peer exited with ${app.exitCode}:\n${output}`);
      if (
        await fetch(`${base}/health/ready`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 1200) throw new Error(`the DBOS peer was not ready within 60 s:\n${output}`);
      await sleep(50);
    }
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    expect((await post('/inventory/items', { sku: 'PEER-1', name: 'Peer item', priceCents: 100, quantity: 5 })).status).toBe(201);
    expect((await post('/billing/accounts', { customerId: 'rich' })).status).toBe(201);
    expect((await post('/billing/accounts', { customerId: 'poor' })).status).toBe(201);
    expect((await post('/billing/accounts/rich/deposits', { amountCents: 1_000 }, 'deposit-1')).body).toEqual({ balanceCents: 1_000 });
  }, 90_000);

  afterAll(async () => {
    await sql?.end();
    if (app && app.exitCode === null) {
      const exited = new Promise<number | null>((resolve) => app.once('exit', (code) => resolve(code)));
      app.kill('SIGTERM');
      expect(await exited).toBe(0); // drains and exits cleanly
    }
    await db?.drop();
  }, 30_000);

  it('confirms an order: stock committed, payment captured, the history row the benchmark reads', async () => {
    const placed = await post('/orders', { customerId: 'rich', lines: [{ sku: 'PEER-1', quantity: 2 }] }, 'order-1');
    expect(placed.status).toBe(202);
    expect(await settled(placed.body.id)).toEqual({ status: 'CONFIRMED', reason: null });
    const { rows: history } = await sql.query(`SELECT event FROM orders.order_history WHERE order_id = $1 ORDER BY seq`, [placed.body.id]);
    expect(history.map((h) => h.event)).toEqual([
      'Order placed',
      'Stock reserved',
      'Payment captured',
      'Order confirmed',
      'Stock committed',
    ]);
    const { rows: items } = await sql.query(`SELECT available, reserved FROM inventory.items WHERE sku = 'PEER-1'`);
    expect(items[0]).toEqual({ available: 3, reserved: 0 });
    const { rows: payments } = await sql.query(`SELECT status, amount_cents::int AS amount FROM billing.payments WHERE order_id = $1`, [
      placed.body.id,
    ]);
    expect(payments).toEqual([{ status: 'CAPTURED', amount: 200 }]);
    const { rows: ledger } = await sql.query(`SELECT coalesce(sum(amount_cents), 0)::int AS net FROM billing.postings`);
    expect(ledger[0].net).toBe(0);
  });

  it('answers a repeated Idempotency-Key with the first order, and runs it once', async () => {
    const first = await post('/orders', { customerId: 'rich', lines: [{ sku: 'PEER-1', quantity: 1 }] }, 'order-2');
    const again = await post('/orders', { customerId: 'rich', lines: [{ sku: 'PEER-1', quantity: 1 }] }, 'order-2');
    expect(again.body.id).toBe(first.body.id);
    await settled(first.body.id);
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM billing.payments WHERE order_id = $1`, [first.body.id]);
    expect(rows[0].n).toBe(1);
  });

  it('compensates a declined payment: the reserved stock comes back and the order is cancelled', async () => {
    const before = (await sql.query(`SELECT available FROM inventory.items WHERE sku = 'PEER-1'`)).rows[0].available as number;
    const placed = await post('/orders', { customerId: 'poor', lines: [{ sku: 'PEER-1', quantity: 1 }] }, 'order-3');
    expect(await settled(placed.body.id)).toEqual({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    expect((await sql.query(`SELECT available, reserved FROM inventory.items WHERE sku = 'PEER-1'`)).rows[0]).toEqual({
      available: before,
      reserved: 0,
    });
    expect((await sql.query(`SELECT status FROM inventory.reservations WHERE order_id = $1`, [placed.body.id])).rows[0].status).toBe(
      'RELEASED',
    );
  });

  it('cancels an order it cannot fill, and refuses bad input with a 400 problem', async () => {
    const placed = await post('/orders', { customerId: 'rich', lines: [{ sku: 'NO-SUCH-SKU', quantity: 1 }] }, 'order-4');
    expect(await settled(placed.body.id)).toEqual({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    const bad = await post('/orders', { customerId: 'rich', lines: [] }, 'order-5');
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    expect((await post('/orders', { customerId: 'rich', lines: [{ sku: 'PEER-1', quantity: 1 }] })).status).toBe(400); // no key
  });
});

describe('queue peers: every message of a small run is handled', () => {
  const run = (args: string[]) =>
    spawnSync(
      process.execPath,
      [path.join(repo, 'tools/bench/peers/queues/run.mjs'), '--database-url', process.env[TEST_SERVER_ENV]!, ...args],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );

  it.each([
    ['pg-boss', 'none'],
    ['pg-boss', 'per-key'],
    ['graphile-worker', 'none'],
    ['graphile-worker', 'per-key'],
  ])(
    '%s, order %s: a backlog',
    (tool, order) => {
      const r = run(['--tool', tool, '--mode', 'backlog', '--order', order, '--messages', '300', '--keys', '30']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('300 msgs / 30 keys');
      // graphile-worker's job queues keep a key's order; pg-boss's singleton policy only keeps one job of a key active
      if (tool === 'graphile-worker' && order === 'per-key') expect(r.stdout).toContain('out of key order 0');
    },
    120_000,
  );

  it.each(['pg-boss', 'graphile-worker'])(
    '%s: open loop measures commit → handler start for every message',
    (tool) => {
      const r = run(['--tool', tool, '--mode', 'open-loop', '--rate', '50', '--seconds', '1', '--keys', '10']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/commit→handler ms .*\(n=50,/);
    },
    120_000,
  );
});
