import { Client } from 'pg';
import { openModuleDb } from '../../database/module-database';
import type { ModuleDb } from '../../database/module-db';
import { freePort } from '../../testing/free-port';
import { LateServer } from '../../testing/late-server';
import { type TestDatabase, createTestDatabase } from '../../testing/test-database';
import { MIGRATIONS_AT, MessagingStack, Note, recordingLogger, waitFor } from '../messaging.test-kit';
import { createEnvelope } from './envelope';
import { HandlerRegistry } from './handlers';
import { messagingMigrations } from './migrations';
import { OWNER_LOCK_SPACE, outboxChannel } from './presence';

/**
 * PostgreSQL away for a few seconds, as the process sees a restart: every connection drops and new ones are refused
 * (the process reaches the server through a proxy that closes, then listens again). Its relay polls once a minute, so
 * only a restored LISTEN can deliver a requeued message within the test. (`npm run drill -- --scenario
 * restart-postgres` restarts a real server.)
 */
describe('relay presence when PostgreSQL goes away and comes back', () => {
  let db: TestDatabase;
  let proxy: LateServer;
  let url: string;
  const dbs: Record<string, ModuleDb> = {};
  let stack: MessagingStack;
  const applied: number[] = [];
  const logger = recordingLogger();

  beforeAll(async () => {
    db = await createTestDatabase('presence');
    proxy = new LateServer(await freePort(), new URL(db.url));
    await proxy.appearAfter(0);
    const settings = { ...db.settings, url: proxy.url(), poolSize: 4 };
    for (const name of ['alpha', 'beta'])
      dbs[name] = await openModuleDb(settings, { name, migrations: messagingMigrations(MIGRATIONS_AT) });
    url = db.url;
    const registry = new HandlerRegistry();
    registry.add({ consumer: 'beta:Test.handle', module: 'beta', contract: Note, handle: (p: { n: number }) => void applied.push(p.n) });
    stack = new MessagingStack(dbs, registry, { logger, relay: { pollIntervalMs: 60_000 } });
    await stack.start('alpha');
  });

  afterAll(async () => {
    await stack?.stop();
    for (const m of Object.values(dbs)) await m.pool.end().catch(() => undefined);
    await proxy?.close();
    await db?.drop();
  });

  /** What a requeue does: a committed, unleased row and a NOTIFY on the module's channel, from another connection. */
  async function requeue(n: number): Promise<void> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const envelope = createEnvelope('alpha', Note.type, { n }, { key: `k${n}` });
      await client.query(`INSERT INTO alpha.outbox (message_id, type, key, envelope) VALUES ($1, $2, $3, $4)`, [
        envelope.id,
        envelope.type,
        envelope.key,
        JSON.stringify(envelope),
      ]);
      await client.query(`NOTIFY ${outboxChannel('alpha')}`);
    } finally {
      await client.end();
    }
  }

  async function ownerLockHeld(): Promise<boolean> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = hashtext($2)::oid AND granted`,
        [OWNER_LOCK_SPACE, stack.presence.owner],
      );
      return rows[0].n === 1;
    } finally {
      await client.end();
    }
  }

  it('reconnects with backoff however long the server is away, then LISTENs and holds its owner lock again', async () => {
    await requeue(1);
    await waitFor(() => applied.includes(1), 'the requeued message before the restart', 10_000);
    expect(await ownerLockHeld()).toBe(true);

    await proxy.close();
    await waitFor(() => !stack.presence.present, 'the presence connection to notice');
    await new Promise((r) => setTimeout(r, 4_000)); // several failed reconnects: the case that used to give up
    await proxy.appearAfter(0);

    await waitFor(() => stack.presence.present, 'the presence connection to come back', 30_000);
    expect(await ownerLockHeld()).toBe(true);
    await requeue(2);
    await waitFor(() => applied.includes(2), 'a message requeued after the restart, woken by NOTIFY (the poll is a minute away)', 10_000);
    expect(logger.lines.some((l) => l.includes('presence connection is back'))).toBe(true);
  }, 90_000);
});
