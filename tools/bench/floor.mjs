// The floor: the least SQL one order of this project needs, sent by plain node-postgres as fast as the machine
// allows, on the same PostgreSQL and the same schemas (created by the app's own migrations). Every topology row of
// `npm run bench` is compared with it: capacity ÷ floor capacity, CPU per order ÷ the floor's.
//
// One order is the saga's seven transactions, each in ONE round trip (BEGIN … COMMIT as one batch of named prepared
// statements with a single Sync; the cheapest way this machine can send them, see StatementBatch), writing the same
// rows the implementation writes: the idempotency key with its response, the order and its five history rows, the
// reservation and the stock levels, the journal entry with its two postings (the ledger's triggers included), the
// payment, six inbox rows, the outbox rows (six messages and three step timers) and their deletion once delivered,
// amortised over batches as a relay does. What it leaves out is everything a real implementation must add:
// decisions between a read and a write (one more round trip per consumer step), HTTP, validation, envelopes built
// per message, ordering and crash safety.
//
//   node tools/bench/floor.mjs --database-url postgres://… [--seconds 20] [--clients 16]   (after npm run build)
import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { cpuBetween, cpuSnapshot } from './lib/measure.mjs';
import { sleep } from '../harness/infra.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SKUS = 10;
const CUSTOMERS = 50;
const PRICE = 100;

async function load(dist) {
  const root = dist ?? path.join(repo, 'dist');
  const batch = await import(pathToFileURL(path.join(root, 'libs/platform/src/database/statement-batch.js')).href);
  const envelope = await import(pathToFileURL(path.join(root, 'libs/platform/src/messaging/core/envelope.js')).href);
  const ids = await import(pathToFileURL(path.join(root, 'libs/platform/src/messaging/core/ids.js')).href);
  const { createHash } = await import('node:crypto');
  const named = (text) => ({ name: `floor_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text });
  return {
    StatementBatch: batch.StatementBatch ?? batch.default.StatementBatch,
    createEnvelope: envelope.createEnvelope ?? envelope.default.createEnvelope,
    newId: ids.newId ?? ids.default.newId,
    named,
  };
}

/** The statements, as the modules' own (schema-qualified; the floor connects as the admin). */
function statements(named) {
  const outbox = (m) =>
    named(`INSERT INTO ${m}.outbox (message_id, type, key, envelope, not_before, available_at, status, lease_owner, lease_until, claims)
      SELECT m.id, m.type, m.key, m.envelope, m.nb, coalesce(m.nb, now()), CASE WHEN m.nb IS NULL THEN 'pending' ELSE 'scheduled' END,
             CASE WHEN m.nb IS NULL THEN $1::uuid END, CASE WHEN m.nb IS NULL THEN now() + interval '30 seconds' END, CASE WHEN m.nb IS NULL THEN 1 ELSE 0 END
        FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[]) AS m(id, type, key, envelope, nb)
      RETURNING seq::text`);
  const inbox = (m) => named(`INSERT INTO ${m}.inbox (consumer, message_id) VALUES ($1, $2)`);
  return {
    begin: named('BEGIN'),
    commit: named('COMMIT'),
    asyncCommit: named(`SELECT set_config('synchronous_commit', 'off', true)`),
    outbox: { orders: outbox('orders'), inventory: outbox('inventory'), billing: outbox('billing') },
    inbox: { orders: inbox('orders'), inventory: inbox('inventory'), billing: inbox('billing') },
    done: {
      orders: named(`DELETE FROM orders.outbox WHERE seq = ANY ($1::bigint[])`),
      inventory: named(`DELETE FROM inventory.outbox WHERE seq = ANY ($1::bigint[])`),
      billing: named(`DELETE FROM billing.outbox WHERE seq = ANY ($1::bigint[])`),
    },
    idempotency:
      named(`INSERT INTO orders.idempotency_keys (scope, principal, key, fingerprint, expires_at, response_status, response_body, completed_at)
      VALUES ('orders.place', '', $1, $2, now() + interval '24 hours', 202, $3, now())`),
    insertOrder: named(
      `INSERT INTO orders.orders (id, customer_id, status, total_cents, lines, saga, version) VALUES ($1, $2, 'PENDING', NULL, $3, $4, 1)`,
    ),
    history: named(`INSERT INTO orders.order_history (order_id, seq, at, event, detail)
      SELECT $1, $2 + e.ord, now(), e.event, e.detail FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS e(event, detail, ord)`),
    lockOrder: named(`SELECT id, status, saga FROM orders.orders WHERE id = $1 FOR UPDATE`),
    updateOrder: named(
      `UPDATE orders.orders SET status = $2, total_cents = $3, saga = $4, version = version + 1, updated_at = now() WHERE id = $1`,
    ),
    withdraw: named(`DELETE FROM orders.outbox WHERE key = $1 AND status = 'scheduled'`),
    lockItem: named(`SELECT sku, available, reserved FROM inventory.items WHERE sku = $1 FOR UPDATE`),
    reserveItem: named(`UPDATE inventory.items SET available = available - 1, reserved = reserved + 1, updated_at = now() WHERE sku = $1`),
    commitItem: named(`UPDATE inventory.items SET reserved = reserved - 1, updated_at = now() WHERE sku = $1`),
    insertReservation: named(`INSERT INTO inventory.reservations (order_id, status, lines) VALUES ($1, 'RESERVED', $2)`),
    lockReservation: named(`SELECT status FROM inventory.reservations WHERE order_id = $1 FOR UPDATE`),
    commitReservation: named(`UPDATE inventory.reservations SET status = 'COMMITTED', updated_at = now() WHERE order_id = $1`),
    lockAccount: named(`SELECT posted_cents FROM billing.accounts WHERE id = $1 FOR UPDATE`),
    journal: named(`INSERT INTO billing.journal_entries (id, kind, order_id) VALUES ($1, 'CAPTURE', $2)`),
    postings: named(`INSERT INTO billing.postings (entry_id, account_id, amount_cents) VALUES ($1, $2, $3), ($1, 'revenue', $4)`),
    payment: named(
      `INSERT INTO billing.payments (order_id, status, customer_id, amount_cents, capture_entry_id) VALUES ($1, 'CAPTURED', $2, $3, $4)`,
    ),
  };
}

/**
 * Runs the floor for `seconds` (after `warmupSeconds`) with `clients` connections, each placing orders in a closed
 * loop. Returns orders per second and CPU per order: this process (the client) and PostgreSQL (`pgPid`: its
 * postmaster, whose children are the backends) and the whole machine.
 */
export async function runFloor({ url, pgPid, seconds = 20, warmupSeconds = 3, clients = 16, dist, say = () => undefined }) {
  const { StatementBatch, createEnvelope, newId, named } = await load(dist);
  const sql = statements(named);
  const owner = randomUUID();
  const conns = await Promise.all(
    Array.from({ length: clients + 1 }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: 'monolith-first:floor' });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    }),
  );
  const run = (client, list) => {
    const batch = new StatementBatch(list.map(([s, values = []]) => ({ ...s, values })));
    client.query(batch);
    return batch.done.catch((failure) => Promise.reject(failure.error ?? failure));
  };
  const tx = (client, list) => run(client, [[sql.begin], ...list, [sql.commit]]);

  // The relay's marks: delivered rows deleted in batches of 50 per module, without waiting for the WAL flush.
  const delivered = { orders: [], inventory: [], billing: [] };
  const marker = conns.pop(); // the relay's own connection
  // One at a time on the marker's connection, and not awaited by the orders: a relay deletes in the background.
  let marking = Promise.resolve();
  const mark = (module, seq) => {
    delivered[module].push(seq);
    if (delivered[module].length < 50) return;
    const seqs = delivered[module].splice(0);
    marking = marking.then(() => run(marker, [[sql.begin], [sql.asyncCommit], [sql.done[module], [seqs]], [sql.commit]]));
  };
  const env = (source, type, payload, key, cause) => JSON.stringify(createEnvelope(source, type, payload, { key, cause }));

  let orders = 0;
  const order = async (client, n) => {
    const orderId = newId();
    const customer = `bench-customer-${n % CUSTOMERS}`;
    const sku = `BENCH-SKU-${n % SKUS}`;
    const lines = JSON.stringify([{ sku, quantity: 1 }]);
    const soon = new Date(Date.now() + 5_000);
    const deadline = `${orderId}:deadline`;
    const reserveId = newId();
    const reserve = env('orders', 'inventory.reserve-stock.v1', { orderId, lines: [{ sku, quantity: 1 }] }, orderId);
    // 1. POST /orders: key and response, order, history, ReserveStock and its deadline
    const [, , , , [r1]] = await tx(client, [
      [sql.idempotency, [randomUUID(), 'f'.repeat(64), JSON.stringify({ id: orderId, status: 'PENDING' })]],
      [sql.insertOrder, [orderId, customer, lines, JSON.stringify({ step: 'RESERVING', attempt: 1 })]],
      [sql.history, [orderId, 0, ['Order placed'], [`Customer ${customer} ordered 1 × ${sku}. Asking inventory to reserve the stock.`]]],
      [
        sql.outbox.orders,
        [
          owner,
          [reserveId, newId()],
          ['inventory.reserve-stock.v1', 'orders.step-deadline.v1'],
          [orderId, deadline],
          [reserve, env('orders', 'orders.step-deadline.v1', { orderId, step: 'RESERVING', attempt: 1 }, deadline)],
          [null, soon],
        ],
      ],
    ]);
    // 2. inventory reserves
    const reservedLines = JSON.stringify([{ sku, quantity: 1, unitPriceCents: PRICE }]);
    const [, , , , , [r2]] = await tx(client, [
      [sql.inbox.inventory, ['inventory:InventoryHandlers.reserve', reserveId]],
      [sql.lockItem, [sku]],
      [sql.reserveItem, [sku]],
      [sql.insertReservation, [orderId, reservedLines]],
      [
        sql.outbox.inventory,
        [
          owner,
          [newId()],
          ['inventory.stock-reserved.v1'],
          [orderId],
          [
            env(
              'inventory',
              'inventory.stock-reserved.v1',
              { orderId, lines: [{ sku, quantity: 1, unitPriceCents: PRICE }], totalCents: PRICE },
              orderId,
            ),
          ],
          [null],
        ],
      ],
    ]);
    mark('orders', r1.seq);
    // 3. orders: stock reserved → capture
    const captureId = newId();
    const [, , , , , , [r3]] = await tx(client, [
      [sql.inbox.orders, ['orders:OrdersHandlers.onStockReserved', newId()]],
      [sql.lockOrder, [orderId]],
      [sql.updateOrder, [orderId, 'PENDING', PRICE, JSON.stringify({ step: 'CAPTURING', attempt: 1 })]],
      [
        sql.history,
        [orderId, 1, ['Stock reserved'], [`Inventory reserved 1 × ${sku} at ${PRICE} cents. Asking billing to take ${PRICE} cents.`]],
      ],
      [sql.withdraw, [deadline]],
      [
        sql.outbox.orders,
        [
          owner,
          [captureId, newId()],
          ['billing.capture-payment.v1', 'orders.step-deadline.v1'],
          [orderId, deadline],
          [
            env('orders', 'billing.capture-payment.v1', { orderId, customerId: customer, amountCents: PRICE }, orderId),
            env('orders', 'orders.step-deadline.v1', { orderId, step: 'CAPTURING', attempt: 1 }, deadline),
          ],
          [null, soon],
        ],
      ],
    ]);
    mark('inventory', r2.seq);
    // 4. billing captures
    const entryId = newId();
    const [, , , , , , [r4]] = await tx(client, [
      [sql.inbox.billing, ['billing:BillingHandlers.capture', captureId]],
      [sql.lockAccount, [`customer:${customer}`]],
      [sql.journal, [entryId, orderId]],
      [sql.postings, [entryId, `customer:${customer}`, PRICE, -PRICE]],
      [sql.payment, [orderId, customer, PRICE, entryId]],
      [
        sql.outbox.billing,
        [
          owner,
          [newId()],
          ['billing.payment-captured.v1'],
          [orderId],
          [env('billing', 'billing.payment-captured.v1', { orderId, customerId: customer, amountCents: PRICE, entryId }, orderId)],
          [null],
        ],
      ],
    ]);
    mark('orders', r3.seq);
    // 5. orders: captured → CONFIRMED, commit the stock
    const commitId = newId();
    const [, , , , , , [r5]] = await tx(client, [
      [sql.inbox.orders, ['orders:OrdersHandlers.onPaymentCaptured', newId()]],
      [sql.lockOrder, [orderId]],
      [sql.updateOrder, [orderId, 'CONFIRMED', PRICE, JSON.stringify({ step: 'COMMITTING', attempt: 1 })]],
      [
        sql.history,
        [
          orderId,
          2,
          ['Payment captured', 'Order confirmed'],
          [`${PRICE} cents were taken (ledger entry ${entryId}).`, 'The order is confirmed. Asking inventory to send the stock out.'],
        ],
      ],
      [sql.withdraw, [deadline]],
      [
        sql.outbox.orders,
        [
          owner,
          [commitId, newId()],
          ['inventory.commit-stock.v1', 'orders.step-deadline.v1'],
          [orderId, deadline],
          [
            env('orders', 'inventory.commit-stock.v1', { orderId }, orderId),
            env('orders', 'orders.step-deadline.v1', { orderId, step: 'COMMITTING', attempt: 1 }, deadline),
          ],
          [null, soon],
        ],
      ],
    ]);
    mark('billing', r4.seq);
    // 6. inventory commits the stock
    const [, , , , , [r6]] = await tx(client, [
      [sql.inbox.inventory, ['inventory:InventoryHandlers.commit', commitId]],
      [sql.lockReservation, [orderId]],
      [sql.commitItem, [sku]],
      [sql.commitReservation, [orderId]],
      [
        sql.outbox.inventory,
        [
          owner,
          [newId()],
          ['inventory.stock-committed.v1'],
          [orderId],
          [env('inventory', 'inventory.stock-committed.v1', { orderId }, orderId)],
          [null],
        ],
      ],
    ]);
    mark('orders', r5.seq);
    // 7. orders: stock committed, done
    await tx(client, [
      [sql.inbox.orders, ['orders:OrdersHandlers.onStockCommitted', newId()]],
      [sql.lockOrder, [orderId]],
      [sql.updateOrder, [orderId, 'CONFIRMED', PRICE, JSON.stringify({ step: 'DONE', attempt: 0 })]],
      [sql.history, [orderId, 4, ['Stock committed'], ['Inventory confirmed that the stock left the warehouse for this order.']]],
      [sql.withdraw, [deadline]],
    ]);
    mark('inventory', r6.seq);
    orders++;
  };

  let stop = false;
  let n = 0;
  const loops = conns.map(async (client) => {
    while (!stop) await order(client, n++);
  });
  say(`warm-up ${warmupSeconds} s with ${clients} clients`);
  await sleep(warmupSeconds * 1000);
  const trees = pgPid ? { postgres: pgPid } : {};
  const a = cpuSnapshot({}, trees);
  const before = orders;
  await sleep(seconds * 1000);
  const b = cpuSnapshot({}, trees);
  const measured = orders - before;
  stop = true;
  await Promise.all(loops);
  await marking;
  await Promise.all([...conns, marker].map((c) => c.end().catch(() => undefined)));
  const cpu = cpuBetween(a, b);
  const perSecond = measured / seconds;
  const perOrderMs = (cores) => (cores * 1000) / perSecond;
  return {
    clients,
    seconds,
    orders: measured,
    perSecond,
    cpuMsPerOrder: {
      client: perOrderMs(cpu.bench),
      postgres: cpu.postgres === undefined ? null : perOrderMs(cpu.postgres),
      own: cpu.postgres === undefined ? null : perOrderMs(cpu.bench + cpu.postgres),
      machine: perOrderMs(cpu.machineBusy * (await import('node:os')).cpus().length),
    },
    cores: { client: cpu.bench, postgres: cpu.postgres ?? null, machineBusy: cpu.machineBusy },
  };
}

/** Seeds the shop of the workload (10 SKUs, 50 funded customers) straight into the tables. */
export async function seedFloorShop(url) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`INSERT INTO inventory.items (sku, name, price_cents, available, reserved)
      SELECT 'BENCH-SKU-' || i, 'Bench item ' || i, ${PRICE}, 100000000, 0 FROM generate_series(0, ${SKUS - 1}) i`);
    await c.query(
      `INSERT INTO billing.accounts (id, customer_id) SELECT 'customer:bench-customer-' || i, 'bench-customer-' || i FROM generate_series(0, ${CUSTOMERS - 1}) i`,
    );
    for (let i = 0; i < CUSTOMERS; i++) {
      const id = randomUUID();
      await c.query(`BEGIN; INSERT INTO billing.journal_entries (id, kind) VALUES ('${id}', 'DEPOSIT');
        INSERT INTO billing.postings (entry_id, account_id, amount_cents) VALUES ('${id}', 'cash', 10000000000), ('${id}', 'customer:bench-customer-${i}', -10000000000); COMMIT`);
    }
  } finally {
    await c.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = new Command('floor')
    .requiredOption('--database-url <url>', 'admin URL of a database migrated by the app (npm run migrate)')
    .option('--seconds <s>', 'measured seconds', '20')
    .option('--clients <n>', 'connections in a closed loop', '16')
    .option('--pg-pid <pid>', "PostgreSQL postmaster's pid (to count its CPU)")
    .option('--seed', 'seed the shop first')
    .parse()
    .opts();
  if (o.seed) await seedFloorShop(o.databaseUrl);
  const r = await runFloor({
    url: o.databaseUrl,
    seconds: Number(o.seconds),
    clients: Number(o.clients),
    pgPid: o.pgPid ? Number(o.pgPid) : undefined,
    say: console.log,
  });
  console.log(JSON.stringify(r, null, 2));
}
