/**
 * SLOW (about 2–3 minutes): copies the repository to a scratch directory, generates libs/shipping there with
 * `npm run new-module`, and shows that a fork gets a working module from that one command: the boundary check, its
 * tests, docs/modules.md and docs/events.md, its migrations from the CLI, and the module running as its own service
 * beside a monolith with REMOTE_MODULES=shipping (the last needs Redis, skipped with a message without it).
 * Each step runs the repository's own commands in the copy; nothing here touches this checkout.
 */
import {
  appDatabaseEnv,
  createTestDatabase,
  describeWithRedis,
  dropBullMqPrefix,
  freePort,
  type TestDatabase,
  TEST_SERVER_ENV,
  uniqueBullMqPrefix,
} from '@app/platform';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { AppProcess } from '../../apps/monolith/test/monolith-process';

const REPO = path.resolve(__dirname, '../..');
const STEP_TIMEOUT = 240_000;
jest.setTimeout(STEP_TIMEOUT);

describe('npm run new-module -- shipping, in a copy of the repository (slow: builds and tests the copy)', () => {
  let scratch: string;
  const databases: TestDatabase[] = [];

  /** Runs a command in the copy; returns its result (never throws, so a failure shows its output). */
  const run = (command: string, args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> =>
    spawnSync(command, args, { cwd: scratch, env: { ...process.env, ...env }, encoding: 'utf8', timeout: STEP_TIMEOUT });
  const ok = (result: SpawnSyncReturns<string>) => ({
    status: result.status,
    output: result.status === 0 ? '' : result.stdout + result.stderr,
  });
  const read = (file: string) => readFileSync(path.join(scratch, file), 'utf8');

  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'mf-new-module-'));
    // What a fresh clone has: the tracked files (and new ones not ignored yet), node_modules shared by a symlink.
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && existsSync(path.join(REPO, file)));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
      copyFileSync(path.join(REPO, file), path.join(scratch, file));
    }
    symlinkSync(path.join(REPO, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses names that cannot be a module, and writes nothing for them', () => {
    for (const [name, reason] of [
      ['Shipping', /lower-case/],
      ['ship ping', /lower-case/],
      ['platform', /reserved/],
      ['pg_stuff', /lower-case|reserved/],
      ['inventory', /exists already/],
      ['admin', /reserved/],
    ] as const) {
      const result = run('npm', ['run', '-s', 'new-module', '--', name]);
      expect({ name, status: result.status, error: result.stderr }).toEqual({ name, status: 1, error: expect.stringMatching(reason) });
    }
    expect(readdirSync(path.join(scratch, 'libs')).sort()).toEqual(['billing', 'inventory', 'orders', 'platform']);
  });

  it('creates libs/shipping in the shape of libs/inventory, says what to do next, and refuses to overwrite it', () => {
    const result = run('npm', ['run', '-s', 'new-module', '--', 'shipping']);
    expect(ok(result)).toEqual({ status: 0, output: '' });
    expect(result.stdout).toMatch(/Next:/);
    for (const file of [
      'src/index.ts',
      'src/shipping.module.ts',
      'src/contracts/index.ts',
      'src/domain/entry.ts',
      'src/domain/entry.spec.ts',
      'src/application/shipping.service.ts',
      'src/application/shipping.handlers.ts',
      'src/persistence/index.ts',
      'src/http/shipping.controller.ts',
      'test/shipping.http.spec.ts',
    ]) {
      expect({ file, exists: existsSync(path.join(scratch, 'libs/shipping', file)) }).toEqual({ file, exists: true });
    }
    expect(readdirSync(path.join(scratch, 'libs/shipping/src/persistence/migrations'))).toEqual([
      expect.stringMatching(/^\d{13}-create-shipping\.ts$/),
    ]);
    const before = read('libs/shipping/src/domain/entry.ts');
    writeFileSync(path.join(scratch, 'libs/shipping/src/domain/entry.ts'), `${before}// edited\n`);
    const again = run('npm', ['run', '-s', 'new-module', '--', 'shipping']);
    expect({ status: again.status, error: again.stderr }).toEqual({ status: 1, error: expect.stringMatching(/exists already/) });
    expect(read('libs/shipping/src/domain/entry.ts')).toBe(`${before}// edited\n`);
    // Registered nowhere but its folder: the files that list paths and projects are as they were
    for (const file of ['tsconfig.json', 'jest.config.js', 'nest-cli.json', 'package.json', 'tools/boundary-check/config.mjs']) {
      expect({ file, unchanged: read(file) === readFileSync(path.join(REPO, file), 'utf8') }).toEqual({ file, unchanged: true });
    }
  });

  it('passes the boundary check, and --graph adds it to docs/modules.md', () => {
    expect(ok(run('npm', ['run', '-s', 'lint:boundaries', '--', '--graph']))).toEqual({ status: 0, output: '' });
    expect(read('docs/modules.md')).toMatch(/shipping/);
    expect(ok(run('npm', ['run', '-s', 'lint:boundaries']))).toEqual({ status: 0, output: '' });
  });

  it('is formatted and linted as the repository demands', () => {
    expect(ok(run('npx', ['prettier', '--check', 'libs/shipping']))).toEqual({ status: 0, output: '' });
    expect(ok(run('npx', ['eslint', 'libs/shipping']))).toEqual({ status: 0, output: '' });
  });

  it('passes its own tests (the domain, and the module booted alone on PostgreSQL)', () => {
    const result = run('npx', ['jest', 'libs/shipping'], { DATABASE_URL: process.env[TEST_SERVER_ENV]! });
    expect(ok(result)).toEqual({ status: 0, output: '' });
    expect(result.stderr).toMatch(/Tests:\s+\d+ passed/);
  });

  it('appears in docs/events.md (npm run docs:events): it publishes shipping.entry-opened.v1 and consumes OrderConfirmed', () => {
    expect(ok(run('npm', ['run', '-s', 'docs:events'], { DATABASE_URL: process.env[TEST_SERVER_ENV]! }))).toEqual({
      status: 0,
      output: '',
    });
    const events = read('docs/events.md');
    expect(events).toMatch(/shipping\.entry-opened\.v1/);
    expect(events).toMatch(/shipping:ShippingHandlers\.orderConfirmed/);
  });

  it('creates, runs and reverts its migrations from the command line, as its owner role', async () => {
    const created = run('npm', ['run', '-s', 'migration:create', '--', 'shipping', 'add-notes']);
    expect(ok(created)).toEqual({ status: 0, output: '' });
    const file = /Wrote (\S+)\.\n/.exec(created.stdout)![1];
    const source = read(file);
    expect(source).toMatch(/not written yet/);
    writeFileSync(
      path.join(scratch, file),
      source
        .replace(
          /up\(_q: QueryRunner\): Promise<void> \{[\s\S]*?\n {2}\}/,
          'async up(q: QueryRunner): Promise<void> {\n    await q.query(`ALTER TABLE entries ADD COLUMN notes text`);\n  }',
        )
        .replace(
          /down\(_q: QueryRunner\): Promise<void> \{[\s\S]*?\n {2}\}/,
          'async down(q: QueryRunner): Promise<void> {\n    await q.query(`ALTER TABLE entries DROP COLUMN notes`);\n  }',
        ),
    );
    expect(ok(run('npx', ['nest', 'build']))).toEqual({ status: 0, output: '' });

    const db = await createTestDatabase('newmodule');
    databases.push(db);
    const env = { ...appDatabaseEnv(db), NODE_ENV: 'test' };
    const migrate = (...args: string[]) => run('node', ['dist/apps/monolith/src/migrate.js', ...args], env);
    const notesColumn = async () => {
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        const { rows } = await c.query(
          `SELECT 1 FROM information_schema.columns WHERE table_schema = 'shipping' AND column_name = 'notes'`,
        );
        return rows.length === 1;
      } finally {
        await c.end();
      }
    };

    expect(ok(migrate('run', 'shipping'))).toEqual({ status: 0, output: '' });
    expect(await notesColumn()).toBe(true);
    const status = JSON.parse(migrate('status', 'shipping', '--json').stdout) as Record<string, { applied: string[]; pending: string[] }>;
    expect(status.shipping.pending).toEqual([]);
    expect(status.shipping.applied.at(-1)).toMatch(/^AddNotes\d{13}$/);
    expect(Object.keys(status)).toEqual(['shipping']); // only the module named

    const reverted = migrate('revert', 'shipping');
    expect(ok(reverted)).toEqual({ status: 0, output: '' });
    expect(reverted.stdout).toMatch(/reverted AddNotes\d{13}/);
    expect(await notesColumn()).toBe(false);
    const after = JSON.parse(migrate('status', 'shipping', '--json').stdout) as typeof status;
    expect(after.shipping.pending).toEqual([expect.stringMatching(/^AddNotes\d{13}$/)]);
    expect(migrate('revert', 'nowhere')).toMatchObject({ status: 1, stderr: expect.stringMatching(/'nowhere' is not a module/) });

    // Every module (no name given), then the operators' CLI from the build as it is (npm run messages builds nothing)
    expect(ok(migrate())).toEqual({ status: 0, output: '' });
    const stats = run('npm', ['run', '-s', 'messages', '--', 'outbox', 'stats', '--json'], env);
    expect(ok(stats)).toEqual({ status: 0, output: '' });
    expect((JSON.parse(stats.stdout) as { module: string }[]).map((s) => s.module).sort()).toEqual([
      'billing',
      'inventory',
      'orders',
      'shipping',
    ]);
    const letters = run('node', ['dist/apps/monolith/src/messages-cli.js', 'dead-letters', 'list', '--module', 'shipping', '--json'], env);
    expect({ status: letters.status, letters: JSON.parse(letters.stdout) as unknown }).toEqual({ status: 0, letters: [] });
  });

  describeWithRedis('REMOTE_MODULES=shipping', (redisUrl) => {
    it('runs it as its own service (apps/module-service shipping) beside the monolith, which sends it OrderConfirmed over BullMQ', async () => {
      expect(existsSync(path.join(scratch, 'dist/apps/module-service/src/main.js'))).toBe(true); // built by the step above
      const [monolithDb, shippingDb] = [await createTestDatabase('newmodule'), await createTestDatabase('newmodule')];
      databases.push(monolithDb, shippingDb);
      const prefix = uniqueBullMqPrefix('new-module');
      const shared = {
        NODE_ENV: 'test',
        REDIS_URL: redisUrl,
        BULLMQ_PREFIX: prefix,
        AUTH_MODE: 'off',
      };
      const logs = mkdtempSync(path.join(tmpdir(), 'mf-new-module-logs-'));
      const service = new AppProcess(
        path.join(scratch, 'dist/apps/module-service/src/main.js'),
        { ...shared, ...appDatabaseEnv(shippingDb, 'SHIPPING_'), SHIPPING_PORT: String(await freePort()) },
        path.join(logs, 'shipping.log'),
        'SHIPPING_PORT',
        ['shipping'],
      );
      const monolith = new AppProcess(
        path.join(scratch, 'dist/apps/monolith/src/main.js'),
        { ...shared, ...appDatabaseEnv(monolithDb), REMOTE_MODULES: 'shipping', PORT: String(await freePort()) },
        path.join(logs, 'monolith.log'),
      );
      try {
        await service.start();
        await monolith.start();
        const post = (base: string, route: string, body: unknown, headers: Record<string, string> = {}) =>
          fetch(`${base}${route}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body),
          });

        // shipping's routes are the service's now; the monolith does not serve them
        expect((await post(service.baseUrl, '/shipping/entries', { title: 'By hand' })).status).toBe(201);
        expect((await post(monolith.baseUrl, '/shipping/entries', { title: 'By hand' })).status).toBe(404);

        // An order confirmed in the monolith reaches shipping over BullMQ and opens its entry in shipping's own database
        expect(
          (await post(monolith.baseUrl, '/inventory/items', { sku: 'MUG-1', name: 'Mug', priceCents: 1299, quantity: 5 })).status,
        ).toBe(201);
        expect((await post(monolith.baseUrl, '/billing/accounts', { customerId: 'ada' })).status).toBe(201);
        expect(
          (await post(monolith.baseUrl, '/billing/accounts/ada/deposits', { amountCents: 5000 }, { 'idempotency-key': 'dep-1' })).ok,
        ).toBe(true);
        const placed = await post(
          monolith.baseUrl,
          '/orders',
          { customerId: 'ada', lines: [{ sku: 'MUG-1', quantity: 2 }] },
          { 'idempotency-key': 'order-1' },
        );
        expect(placed.status).toBe(202);
        const { id: orderId } = (await placed.json()) as { id: string };
        const c = new Client({ connectionString: shippingDb.url });
        await c.connect();
        try {
          let entries: { title: string }[] = [];
          for (let i = 0; i < 300 && entries.length === 0; i++) {
            entries = (await c.query<{ title: string }>('SELECT title FROM shipping.entries WHERE order_id = $1', [orderId])).rows;
            if (entries.length === 0) await new Promise((r) => setTimeout(r, 100));
          }
          expect(entries).toEqual([{ title: `Order ${orderId} (25.98)` }]);
        } finally {
          await c.end();
        }
        expect(await service.stop()).toBe(0);
        expect(await monolith.stop()).toBe(0);
      } catch (error) {
        const tail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-40).join('\n') : '(no log)');
        (error as Error).message +=
          `\n--- shipping.log\n${tail(path.join(logs, 'shipping.log'))}\n--- monolith.log\n${tail(path.join(logs, 'monolith.log'))}`;
        throw error;
      } finally {
        service.close();
        monolith.close();
        await dropBullMqPrefix(redisUrl, prefix);
        rmSync(logs, { recursive: true, force: true });
      }
    });
  });
});
