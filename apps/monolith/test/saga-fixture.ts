import { OrdersModule } from '@app/orders';
import {
  type BullMqMessagingOptions,
  DeadLetters,
  FAST_MESSAGING,
  TEST_ADMIN_TOKEN,
  MessageDispatcher,
  connectBullMq,
  createTestApp,
  discoverModules,
  type ModuleDb,
  moduleDbToken,
  dropBullMqPrefix,
  type TestApp,
  type TestDatabase,
  uniqueBullMqPrefix,
} from '@app/platform';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { hostedModules, routesTo } from '../src/app.module';

/** The saga's patience (OrdersModule.forRoot's `saga`): re-send interval, deadlines, back-off, compensation bound. */
export type SagaTiming = NonNullable<NonNullable<Parameters<typeof OrdersModule.forRoot>[0]>['saga']>;
/** Re-sends every 300 ms; each forward step gives up after 600 ms of waiting counted from delivery (2 sends). */
const FAST_SAGA: SagaTiming = { stepTimeoutMs: 300, reserveDeadlineMs: 600, paymentDeadlineMs: 600, maxRetryDelayMs: 600 };

/** The three modules on one platform, with a saga whose steps re-send every `stepTimeoutMs`. */
export function bootMonolith(db?: TestDatabase, saga: SagaTiming = FAST_SAGA): Promise<TestApp> {
  return createTestApp(hostedModules({ modules: { orders: OrdersModule.forRoot({ saga }) } }), db);
}

/**
 * Where the modules run: every app of the topology, which app hosts which module, and how to reach it. The saga
 * suite runs against each topology unchanged.
 */
export interface Topology {
  name: 'monolith' | 'extracted';
  apps: TestApp[];
  /** The app that hosts `module` (serves its HTTP endpoints, owns its database). */
  appOf(module: string): TestApp;
  /** A module's database (as its runtime role), in whichever app hosts it. */
  ds(module: string): ModuleDb;
  /** Dead letters of every app, every module. */
  deadLetters(): Promise<{ module: string; id: string }[]>;
  close(): Promise<void>;
}

export function monolithTopology(t: TestApp): Topology {
  return {
    name: 'monolith',
    apps: [t],
    appOf: () => t,
    ds: (module) => t.app.get<ModuleDb>(moduleDbToken(module)),
    deadLetters: () => t.app.get(DeadLetters).list({ limit: 500 }),
    close: () => t.close(),
  };
}

export async function bootMonolithTopology(saga: SagaTiming = FAST_SAGA): Promise<Topology> {
  return monolithTopology(await bootMonolith(undefined, saga));
}

export interface ExtractedOptions {
  redisUrl: string;
  /** Modules that run in their own app (as apps/<module>-service does), default billing. */
  remote?: string[];
  saga?: SagaTiming;
  /** BullMQ job lock (ms): how long a job of a stopped worker waits before it runs again. */
  lockMs?: number;
}

/**
 * The extracted topology in one Jest process: the monolith (every module but `remote`, loaded the way apps/monolith
 * loads them with REMOTE_MODULES) on one test database, and each remote module in an app of its own on a database of
 * its own, as apps/<module>-service runs it. They talk over BullMQ on real Redis, under a key prefix of their own
 * (removed on close), so parallel test files and reruns never share a queue.
 */
export async function bootExtractedTopology(options: ExtractedOptions): Promise<Topology & { prefix: string }> {
  const remote = options.remote ?? ['billing'];
  const prefix = uniqueBullMqPrefix('saga');
  const bullmq = (host: string, peers: string[]): BullMqMessagingOptions => ({
    host,
    peers,
    routes: routesTo(peers), // as apps/monolith routes: each module's service gets what the module consumes
    redisUrl: options.redisUrl,
    prefix,
    lockMs: options.lockMs ?? 2_000,
  });
  const messaging = (host: string, peers: string[]) => ({ ...FAST_MESSAGING, bullmq: bullmq(host, peers) });
  // the module's own Nest module, as its apps/<module>-service imports it
  const remoteModule = (name: string) => (discoverModules().find((m) => m.name === name) ?? fail(`no module ${name}`)).load();
  const apps = new Map<string, TestApp>();
  try {
    for (const name of remote) apps.set(name, await createTestApp([remoteModule(name)], undefined, messaging(name, ['monolith'])));
    const main = await createTestApp(
      hostedModules({ remote, modules: { orders: OrdersModule.forRoot({ saga: options.saga ?? FAST_SAGA }) } }),
      undefined,
      messaging('monolith', remote),
    );
    apps.set('monolith', main);
    for (const t of apps.values()) await connectBullMq(t.app);
  } catch (error) {
    for (const t of apps.values()) await t.close().catch(() => undefined);
    await dropBullMqPrefix(options.redisUrl, prefix);
    throw error;
  }
  const appOf = (module: string) => apps.get(module) ?? apps.get('monolith')!;
  return {
    name: 'extracted',
    prefix,
    apps: [...apps.values()],
    appOf,
    ds: (module) => appOf(module).app.get<ModuleDb>(moduleDbToken(module)),
    deadLetters: async () => (await Promise.all([...apps.values()].map((t) => t.app.get(DeadLetters).list({ limit: 500 })))).flat(),
    close: async () => {
      // The monolith first: its relays stop sending, then each service drains its queue's running jobs.
      for (const t of [...apps.values()].reverse()) await t.close();
      await dropBullMqPrefix(options.redisUrl, prefix);
    },
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/** A client of the shop: each call goes to the app that hosts the module it talks to. */
export class Shop {
  readonly topology: Topology;

  constructor(topology: Topology | TestApp) {
    this.topology = 'apps' in topology ? topology : monolithTopology(topology);
  }

  /** HTTP to the app that serves `module` (orders by default). */
  http(module = 'orders') {
    return request(this.topology.appOf(module).app.getHttpServer());
  }

  /** The local dispatcher of the app that hosts `module` (to hand its consumers a message directly). */
  dispatcher(module = 'orders'): MessageDispatcher {
    return this.topology.appOf(module).app.get(MessageDispatcher);
  }

  async item(sku: string, priceCents: number, quantity: number): Promise<void> {
    await this.http('inventory').post('/inventory/items').send({ sku, name: sku, priceCents, quantity }).expect(201);
  }

  async customer(customerId: string, depositCents: number): Promise<void> {
    await this.http('billing').post('/billing/accounts').send({ customerId }).expect(201);
    if (depositCents > 0) {
      await this.http('billing')
        .post(`/billing/accounts/${customerId}/deposits`)
        .set('Idempotency-Key', randomUUID())
        .send({ amountCents: depositCents })
        .expect(201);
    }
  }

  async place(customerId: string, lines: { sku: string; quantity: number }[], key = randomUUID()): Promise<string> {
    const res = await this.http().post('/orders').set('Idempotency-Key', key).send({ customerId, lines }).expect(202);
    return res.body.id as string;
  }

  async order(
    id: string,
  ): Promise<{ status: string; reason?: string; totalCents: number | null; history: { event: string; detail: string }[] }> {
    return (await this.http().get(`/orders/${id}`).expect(200)).body;
  }

  /** Polls until the order is CONFIRMED or CANCELLED (the saga is asynchronous). */
  async settled(id: string, timeoutMs = 15_000): Promise<Awaited<ReturnType<Shop['order']>>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const order = await this.order(id);
      if (order.status !== 'PENDING') return order;
      if (Date.now() > until) throw new Error(`order ${id} still PENDING after ${timeoutMs} ms: ${JSON.stringify(order.history)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Runs `work` while a transaction holds the item's row lock: inventory's handlers for it block until then. */
  async whileItemLocked<T>(sku: string, work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const lock = this.topology
      .ds('inventory')
      .transaction(async (tx) => {
        await tx.query(`SELECT sku FROM items WHERE sku = $1 FOR UPDATE`, [sku]);
        locked();
        await done;
        throw new Error('rolled back on purpose'); // nothing was written; let go of the lock
      })
      .catch(() => undefined);
    await holding;
    try {
      return await work();
    } finally {
      release();
      await lock;
    }
  }

  async stock(sku: string): Promise<{ available: number; reserved: number }> {
    return (await this.http('inventory').get(`/inventory/items/${sku}`).expect(200)).body;
  }

  async balance(customerId: string): Promise<number> {
    return (await this.http('billing').get(`/billing/accounts/${customerId}`).expect(200)).body.balanceCents;
  }

  async ledgerBalanced(): Promise<boolean> {
    return (await this.http('billing').get('/billing/ledger/verification').auth(TEST_ADMIN_TOKEN, { type: 'bearer' }).expect(200)).body
      .balanced;
  }
}

/** Waits until `check` passes (for effects that follow an order's terminal state, such as committing stock). */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
