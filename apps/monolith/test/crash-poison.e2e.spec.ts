import { appDatabaseEnv, createTestDatabase, freePort, type TestDatabase } from '@app/platform';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { MonolithProcess } from './monolith-process';

/** Crashes the relay tolerates before it dead-letters: one ordinary delivery, then maxSoloRuns (2) alone. */
const CRASHES_BEFORE_DEAD = 3;
/** A token of its own: a public one is refused with an external database. */
const ADMIN_TOKEN = randomBytes(24).toString('hex');

/**
 * A message whose handler kills the process (FAULT_INJECTION=crash, the drill's hook): the monolith is SIGKILLed by it
 * and restarted, a bounded number of times, until the relay dead-letters it as the message that kills the process.
 */
describe('crash test: a message that kills its process', () => {
  let db: TestDatabase;
  let admin: Client;
  let app: MonolithProcess;
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'monolith-first-crash-poison-')), 'monolith.log');

  beforeAll(async () => {
    db = await createTestDatabase('crashpoison');
    app = new MonolithProcess(
      {
        ...appDatabaseEnv(db),
        PORT: String(await freePort()),
        NODE_ENV: 'test',
        LOG_FORMAT: 'json',
        ADMIN_TOKEN,
        FAULT_INJECTION: 'crash',
        RELAY_LEASE_MS: '1500',
        RELAY_POLL_INTERVAL_MS: '100',
      },
      logFile,
    );
    await app.start();
    admin = new Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    app?.close();
    await admin?.end();
    await db?.drop();
  });

  it('answers GET /admin/fault-injection only with the admin token', async () => {
    expect((await fetch(`${app.baseUrl}/admin/fault-injection`)).status).toBe(401);
  });

  it(`is dead-lettered after at most ${CRASHES_BEFORE_DEAD} crashes, and the process then stays up`, async () => {
    const res = await fetch(`${app.baseUrl}/admin/fault-injection`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const { crash } = (await res.json()) as { crash: { type: string; module: string } };
    expect(crash).toEqual({ type: 'platform.fault-injection.crash.v1', module: 'billing' });

    // Written as an operator with SQL could, into the module's outbox; its relay delivers it like any other message.
    const id = uuidv7();
    const key = randomUUID();
    const envelope = {
      id,
      type: crash.type,
      source: crash.module,
      key,
      occurredAt: new Date().toISOString(),
      correlationId: id,
      causationId: null,
      traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
      payload: { reason: 'test: a handler that kills its process' },
    };
    await admin.query(`INSERT INTO "${crash.module}".outbox (message_id, type, key, envelope) VALUES ($1, $2, $3, $4::jsonb)`, [
      id,
      crash.type,
      key,
      JSON.stringify(envelope),
    ]);
    await admin.query(`SELECT pg_notify($1, '')`, [`outbox_${crash.module}`]);

    const statusOf = async () =>
      (
        await admin.query<{ status: string; last_error: string | null }>(
          `SELECT status, last_error FROM "${crash.module}".outbox WHERE message_id = $1`,
          [id],
        )
      ).rows[0];
    let crashes = 0;
    const until = Date.now() + 120_000;
    while ((await statusOf())?.status !== 'dead' && Date.now() < until && crashes <= CRASHES_BEFORE_DEAD + 2) {
      if (app.exitedWith !== undefined) {
        expect(app.exitedWith).toBe('SIGKILL');
        crashes++;
        await app.start(); // as a supervisor would
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const row = await statusOf();
    expect(row?.status).toBe('dead');
    expect(row?.last_error).toMatch(/process died while applying platform\.fault-injection\.crash\.v1/);
    expect(crashes).toBeGreaterThanOrEqual(1);
    expect(crashes).toBeLessThanOrEqual(CRASHES_BEFORE_DEAD);
    // Dead-lettered, it kills nothing more.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(app.exitedWith).toBeUndefined();
    expect(await app.ready()).toBe(true);
  }, 180_000);
});
