import {
  ConfigError,
  appDatabaseEnv,
  createTestDatabase,
  describeWithRedis,
  discoverModules,
  dropBullMqPrefix,
  freePort,
  loadConfig,
  runMessagesCli,
  type CliIo,
  type Envelope,
  uniqueBullMqPrefix,
} from '@app/platform';
import { billingConsumes } from '@app/billing/contracts';
import { inventoryConsumes } from '@app/inventory/contracts';
import { Queue } from 'bullmq';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkRemoteModules } from '../src/app.module';
import { placement } from '../src/bootstrap';
import { MonolithProcess } from './monolith-process';
import { bootExtractedTopology, eventually, Shop, type Topology } from './saga-fixture';

describe('the extraction switch (REMOTE_MODULES)', () => {
  it('accepts known modules, refuses unknown ones and refuses to leave the monolith empty', () => {
    const config = loadConfig({ REMOTE_MODULES: 'billing, inventory' });
    expect(config.REMOTE_MODULES).toEqual(['billing', 'inventory']);
    expect(checkRemoteModules(config.REMOTE_MODULES)).toEqual(['billing', 'inventory']);
    // each module's service is sent what the module declares it consumes, nothing else
    expect(placement(config)).toEqual({
      host: 'monolith',
      peers: ['billing', 'inventory'],
      routes: { billing: billingConsumes, inventory: inventoryConsumes },
    });
    expect(placement(loadConfig({}))).toBeUndefined(); // nothing remote: in-process transport, no Redis
    // a peer that is not a module's service gets every message
    expect(placement(loadConfig({ REMOTE_MODULES: 'billing', PEER_HOSTS: 'billing,audit' }))).toEqual({
      host: 'monolith',
      peers: ['billing', 'audit'],
      routes: { billing: billingConsumes },
    });
    const known = discoverModules().map((m) => m.name); // every libs/<name> (docs/adding-a-module.md)
    expect(known).toEqual(expect.arrayContaining(['billing', 'inventory', 'orders']));
    expect(() => checkRemoteModules(['nosuch'])).toThrow(ConfigError);
    expect(() => checkRemoteModules(['nosuch'])).toThrow(`'nosuch' is not a module of the monolith (known: ${known.join(', ')})`);
    expect(() => checkRemoteModules(known)).toThrow(/would host nothing/);
    expect(() => loadConfig({ REMOTE_MODULES: 'Billing!' })).toThrow(/REMOTE_MODULES/);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL: must be a redis:\/\/ URL/);
  });
});

describeWithRedis('the extracted topology', (redisUrl) => {
  it('the monolith started with REMOTE_MODULES=billing loads no file of billing, only its contracts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mf-loaded-'));
    const report = path.join(dir, 'loaded.json');
    const preload = path.join(dir, 'report-loaded.js');
    writeFileSync(
      preload,
      // written whole, then renamed: the test never reads a half-written report
      `process.on('SIGUSR2', () => { const fs = require('fs'); fs.writeFileSync(${JSON.stringify(`${report}.tmp`)}, JSON.stringify(Object.keys(require.cache))); fs.renameSync(${JSON.stringify(`${report}.tmp`)}, ${JSON.stringify(report)}); });\n`,
    );
    const db = await createTestDatabase('loaded');
    const prefix = uniqueBullMqPrefix('loaded');
    const app = new MonolithProcess(
      {
        ...appDatabaseEnv(db),
        PORT: String(await freePort()),
        NODE_ENV: 'test',
        LOG_FORMAT: 'json',
        REMOTE_MODULES: 'billing',
        REDIS_URL: redisUrl,
        BULLMQ_PREFIX: prefix,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
      },
      path.join(dir, 'monolith.log'),
    );
    try {
      await app.start();
      app.notify('SIGUSR2');
      await eventually(() => Promise.resolve(expect(existsSync(report)).toBe(true)), 5_000);
      const loaded = (JSON.parse(readFileSync(report, 'utf8')) as string[]).map((f) =>
        path.relative(path.resolve(__dirname, '../../..'), f),
      );
      expect(loaded.filter((f) => f.startsWith('dist/libs/billing/') && !f.startsWith('dist/libs/billing/src/contracts/'))).toEqual([]);
      expect(loaded).toContain('dist/libs/billing/src/contracts/index.js'); // orders sends billing's commands
      expect(loaded).toContain('dist/libs/orders/src/orders.module.js');
      expect(loaded).toContain('dist/libs/inventory/src/inventory.module.js');
      // and billing's endpoints are not served here
      expect((await fetch(`${app.baseUrl}/billing/accounts/nobody`)).status).toBe(404);
      expect(await app.stop()).toBe(0);
    } finally {
      app.close();
      await db.drop();
      await dropBullMqPrefix(redisUrl, prefix);
    }
  });

  describe('inventory remote too (the switch is generic)', () => {
    let topology: Topology;
    let shop: Shop;
    beforeAll(async () => {
      topology = await bootExtractedTopology({ redisUrl, remote: ['billing', 'inventory'] });
      shop = new Shop(topology);
    });
    afterAll(() => topology?.close());

    it('runs the saga across three hosts: orders in the monolith, inventory and billing in services of their own', async () => {
      expect(topology.apps).toHaveLength(3);
      expect(topology.appOf('inventory')).not.toBe(topology.appOf('orders'));
      expect(topology.appOf('billing')).not.toBe(topology.appOf('orders'));
      await shop.item('LAMP', 2_000, 5);
      await shop.customer('lux', 10_000);
      const id = await shop.place('lux', [{ sku: 'LAMP', quantity: 2 }]);
      expect(await shop.settled(id)).toMatchObject({ status: 'CONFIRMED', totalCents: 4_000 });
      await eventually(async () => expect(await shop.stock('LAMP')).toMatchObject({ available: 3, reserved: 0 }));
      expect(await shop.balance('lux')).toBe(6_000);
      const short = await shop.place('lux', [{ sku: 'LAMP', quantity: 9 }]);
      expect(await shop.settled(short)).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
      // each module's rows live in its own host's database
      const [{ n }] = await topology.ds('inventory').query(`SELECT count(*)::int AS n FROM inbox`);
      expect(n).toBeGreaterThan(0);
      await expect(topology.ds('orders').query(`SELECT 1 FROM inventory.items`)).rejects.toThrow(/does not exist|permission denied/);
    });
  });

  describe('dead letters of the extracted service', () => {
    let topology: Topology;
    beforeAll(async () => {
      topology = await bootExtractedTopology({ redisUrl });
    });
    afterAll(() => topology?.close());

    it("are recorded in billing's own database and managed by the messages CLI pointed at it", async () => {
      const poison = {
        id: '01930000-0000-7000-8000-00000000d00d',
        type: 'billing.capture-payment.v1',
        source: 'orders',
        key: 'poison-order',
        occurredAt: new Date().toISOString(),
        correlationId: '01930000-0000-7000-8000-00000000d00d',
        causationId: null,
        traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
        payload: { orderId: 'not-a-uuid' },
      };
      await topology
        .ds('orders')
        .query(`INSERT INTO outbox (message_id, type, key, envelope) VALUES ($1, $2, $3, $4)`, [
          poison.id,
          poison.type,
          poison.key,
          JSON.stringify(poison),
        ]);
      await eventually(async () =>
        expect(await topology.deadLetters()).toEqual([expect.objectContaining({ module: 'billing', id: poison.id })]),
      );
      const billing = topology.appOf('billing').db.settings;
      const out: string[] = [];
      const io: CliIo = {
        env: { DATABASE_URL: billing.url, MODULE_DB_SECRET: billing.roleSecret, DB_ROLE_PREFIX: billing.rolePrefix },
        out: (t) => void out.push(t),
        err: (t) => void out.push(t),
      };
      expect(await runMessagesCli(['dead-letters', 'list', '--module', 'billing'], ['billing'], io)).toBe(0);
      expect(out.join('')).toContain(poison.id);
      expect(await runMessagesCli(['dead-letters', 'purge', 'billing', poison.id], ['billing'], io)).toBe(0);
      expect(await topology.deadLetters()).toEqual([]);
    });
  });

  /**
   * Over BullMQ, messages of one key may arrive out of order (several jobs run at once; a retried job goes after
   * later ones) and more than once (a re-enqueue after the job was removed). Here both are forced: billing's queue
   * is paused while orders time out and compensate, then its commands are shuffled; billing's replies are held and
   * shuffled in turn, and copies of every command are delivered again. The saga must end with every invariant of
   * the crash test.
   */
  describe('reordered and repeated deliveries', () => {
    const CUSTOMERS = { amy: 20_000, ben: 6_000, cat: 1_500 };
    let topology: Topology & { prefix: string };
    let shop: Shop;
    let billingQueue: Queue;
    let monolithQueue: Queue;

    beforeAll(async () => {
      topology = await bootExtractedTopology({ redisUrl });
      shop = new Shop(topology);
      billingQueue = new Queue('billing', { connection: { url: redisUrl }, prefix: topology.prefix });
      monolithQueue = new Queue('monolith', { connection: { url: redisUrl }, prefix: topology.prefix });
    });
    afterAll(async () => {
      await billingQueue?.close();
      await monolithQueue?.close();
      await topology?.close();
    });

    type Item = { name: string; data: Envelope; opts: Queue['defaultJobOptions'] & { jobId?: string } };

    /**
     * Takes every waiting job off the (paused) queue and puts them back in a random order (same ids, same options).
     * `first` names message types that must run before the rest for some keys, so both orders of a pair surely
     * occur: those jobs go alone, the queue resumes, and the others are added once they have completed (with
     * several jobs at a time, being merely in front would not be enough).
     */
    async function shuffle(queue: Queue, first: Record<string, string> = {}): Promise<number> {
      const jobs = await queue.getJobs(['wait', 'prioritized']);
      for (const job of jobs) await job.remove();
      const again: Item[] = jobs
        .map((job) => ({ job, at: Math.random() }))
        .sort((a, b) => a.at - b.at)
        .map(({ job }) => ({ name: job.name, data: job.data as Envelope, opts: { ...job.opts, jobId: job.id } }));
      const front = again.filter((item) => first[item.data.key] === item.name);
      if (front.length > 0) {
        await queue.addBulk(front);
        await queue.resume();
        await eventually(async () => {
          for (const item of front) expect(await (await queue.getJob(item.opts.jobId!))?.getState()).toBe('completed');
        });
      }
      await queue.addBulk(again.filter((item) => !front.includes(item)));
      return again.length;
    }

    it('keeps every invariant: orders terminal, stock and balances match the confirmed orders, no double charge', async () => {
      await shop.item('BOLT', 300, 200);
      for (const [customer, deposit] of Object.entries(CUSTOMERS)) await shop.customer(customer, deposit);
      const customers = Object.keys(CUSTOMERS);
      const placed: string[] = [];
      const place = async (n: number) => {
        for (let i = 0; i < n; i++) placed.push(await shop.place(customers[i % 3], [{ sku: 'BOLT', quantity: 1 + randomInt(4) }]));
      };

      // 1. Billing takes nothing: its orders time out and compensate, so captures and refunds pile up for the same orders.
      await billingQueue.pause();
      await place(9);
      await shop.http().post(`/orders/${placed[0]}/cancel`).set('Idempotency-Key', 'cancel-0').expect(202);
      await eventually(async () => {
        const waiting = await billingQueue.getJobs(['wait']);
        expect(waiting.filter((j) => j.name === 'billing.refund-payment.v1').length).toBeGreaterThanOrEqual(9);
      }, 15_000);

      // 2. Billing takes them in a random order (two chosen ones first), while its replies are held back for orders.
      await monolithQueue.pause();
      const refundFirst = placed[1];
      const captureFirst = placed[2];
      expect(
        await shuffle(billingQueue, { [refundFirst]: 'billing.refund-payment.v1', [captureFirst]: 'billing.capture-payment.v1' }),
      ).toBeGreaterThanOrEqual(18);
      await billingQueue.resume();
      await eventually(async () =>
        expect(await billingQueue.getJobCounts('wait', 'active', 'delayed')).toMatchObject({ wait: 0, active: 0 }),
      );

      // 3. Every command billing applied is delivered to it once more, after its job is gone: the inbox must skip it.
      const applied = await billingQueue.getJobs(['completed']);
      for (const job of applied) await job.remove();
      await billingQueue.addBulk(applied.map((job) => ({ name: job.name, data: job.data as Envelope, opts: { jobId: job.id } })));

      // 4. The replies reach orders in a random order, while new orders are placed and confirmed ones cancelled.
      await shuffle(monolithQueue);
      await monolithQueue.resume();
      await place(6);
      const confirmedSoFar = [];
      for (const id of placed.slice(-6)) if ((await shop.settled(id, 20_000)).status === 'CONFIRMED') confirmedSoFar.push(id);
      for (const id of confirmedSoFar.slice(0, 2))
        await shop.http().post(`/orders/${id}/cancel`).set('Idempotency-Key', `c-${id}`).expect(202);

      // Invariants.
      await eventually(async () => {
        for (const id of placed) expect((await shop.order(id)).status).not.toBe('PENDING');
        const [{ n }] = await topology.ds('orders').query(`SELECT count(*)::int AS n FROM orders WHERE status = 'PENDING'`);
        expect(n).toBe(0);
      }, 30_000);
      await eventually(async () => {
        const [{ pending }] = await topology
          .ds('orders')
          .query(`SELECT count(*)::int AS pending FROM outbox WHERE status = 'pending' AND (not_before IS NULL OR not_before <= now())`);
        expect(pending).toBe(0);
        expect(await monolithQueue.getJobCounts('wait', 'active')).toEqual({ wait: 0, active: 0 });
        expect(await billingQueue.getJobCounts('wait', 'active')).toEqual({ wait: 0, active: 0 });
      }, 20_000);
      type OrderRow = {
        id: string;
        customer_id: string;
        status: string;
        total_cents: string | null;
        lines: { sku: string; quantity: number }[];
      };
      const orders = await topology.ds('orders').query<OrderRow>(`SELECT id, customer_id, status, total_cents, lines FROM orders`);
      expect(orders).toHaveLength(placed.length);
      expect(orders.every((o) => o.status === 'CONFIRMED' || o.status === 'CANCELLED')).toBe(true);
      const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
      const sold = confirmed.flatMap((o) => o.lines).reduce((n, l) => n + l.quantity, 0);
      await eventually(async () =>
        expect(await shop.stock('BOLT')).toEqual(expect.objectContaining({ available: 200 - sold, reserved: 0 })),
      );
      for (const [customer, deposit] of Object.entries(CUSTOMERS)) {
        const spent = confirmed.filter((o) => o.customer_id === customer).reduce((n, o) => n + Number(o.total_cents), 0);
        expect({ customer, balance: await shop.balance(customer) }).toEqual({ customer, balance: deposit - spent });
      }
      expect(await shop.ledgerBalanced()).toBe(true);
      const captures = await topology
        .ds('billing')
        .query<{ order_id: string; n: number }>(
          `SELECT order_id, count(*)::int AS n FROM journal_entries WHERE kind = 'CAPTURE' GROUP BY order_id`,
        );
      expect(captures.filter((c) => c.n > 1)).toEqual([]);
      const [{ refunds }] = await topology
        .ds('billing')
        .query(`SELECT count(*)::int AS refunds FROM journal_entries WHERE kind = 'REFUND'`);
      expect(captures.length - refunds).toBe(confirmed.length);
      expect(await topology.deadLetters()).toEqual([]);
      // both orders of capture and refund happened: a refund before its capture voided the payment (the late capture
      // was declined); a capture before its refund was refunded by a reversing entry
      const payments = await topology
        .ds('billing')
        .query<{ order_id: string; status: string }>(`SELECT order_id, status FROM payments WHERE order_id = ANY($1::uuid[])`, [
          [refundFirst, captureFirst],
        ]);
      const status = Object.fromEntries(payments.map((p) => [p.order_id, p.status]));
      expect(status[refundFirst]).toBe('VOIDED');
      // The capture ran first: it was refunded, or, when the customer's balance was already spent by the other
      // orders racing it, declined. Either way no money is held for the cancelled order (checked above).
      expect(['REFUNDED', 'DECLINED']).toContain(status[captureFirst]);
    }, 90_000);
  });
});
