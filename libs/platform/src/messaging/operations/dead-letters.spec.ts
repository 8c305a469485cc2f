import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { moduleRoles } from '../../database/module-roles';
import type { Envelope } from '../core/envelope';
import { NonRetryableError } from '../core/errors';
import { HandlerRegistry } from '../core/handlers';
import { MessagingStack, Note, messagingTestDatabase, recordingLogger } from '../messaging.test-kit';
import { runMessagesCli } from './cli';
import { DeadLetters, MessagingModules, UnknownModuleError } from './dead-letters';

describe('Dead letters', () => {
  let deadLetters: DeadLetters;
  const logger = recordingLogger();
  let brokenB = true;
  const applied = { a: [] as string[], b: [] as string[] };

  const registry = new HandlerRegistry()
    .add({
      consumer: 'beta:A.handle',
      module: 'beta',
      contract: Note,
      handle: async (_p, ctx) => void (await ctx.fresh, applied.a.push(ctx.envelope.id)),
    })
    .add({
      consumer: 'beta:B.handle',
      module: 'beta',
      contract: Note,
      handle: async (_p, ctx) => {
        await ctx.fresh;
        if (brokenB) throw new NonRetryableError('B cannot handle this yet');
        applied.b.push(ctx.envelope.id);
      },
    });
  /** A relay driven by hand (runOnce), as one process's. */
  const relay = () => new MessagingStack({ alpha: t.alpha, beta: t.beta }, registry, { logger }).relay('alpha');
  const outbox = () => new MessagingStack({ alpha: t.alpha, beta: t.beta }, registry, { logger }).outboxes.alpha;
  async function deadLetter(n: number): Promise<Envelope> {
    brokenB = true;
    const sent = await t.alpha.transaction((tx) => outbox().add(tx, Note, { n }, { key: `k${n}` }));
    await relay().runOnce();
    return sent;
  }

  const t = messagingTestDatabase('deadletters');
  beforeAll(() => {
    const modules = new MessagingModules();
    modules.add(t.alpha);
    modules.add(t.beta);
    deadLetters = new DeadLetters(modules);
  });
  beforeEach(async () => {
    await t.alpha.query('DELETE FROM outbox');
    await t.beta.query('DELETE FROM inbox');
    applied.a = [];
    applied.b = [];
  });

  it('lists newest first and shows the envelope and the error history', async () => {
    const older = await deadLetter(1);
    const newer = await deadLetter(2);
    const list = await deadLetters.list({ module: 'alpha' });
    expect(list.map((l) => l.id)).toEqual([newer.id, older.id]);
    expect(list[0]).toMatchObject({
      module: 'alpha',
      type: Note.type,
      key: 'k2',
      attempts: 1,
      lastError: 'NonRetryableError: B cannot handle this yet',
    });
    expect((await deadLetters.list({ limit: 1, offset: 1 })).map((l) => l.id)).toEqual([older.id]);

    const shown = await deadLetters.get('alpha', older.id);
    expect(shown?.envelope).toEqual(older);
    expect(shown?.errors).toEqual([{ at: expect.any(String), attempt: 1, error: 'NonRetryableError: B cannot handle this yet' }]);
    expect(await deadLetters.get('alpha', randomUUID())).toBeNull();
    await expect(deadLetters.list({ module: 'gamma' })).rejects.toThrow(UnknownModuleError);
  });

  it('requeues with the same id: the consumer that already applied it skips, the fixed one applies it', async () => {
    const sent = await deadLetter(1);
    expect(applied).toEqual({ a: [sent.id], b: [] });

    brokenB = false;
    expect(await deadLetters.requeue('alpha', sent.id)).toBe(true);
    expect(await relay().runOnce()).toBe(1);

    expect(applied).toEqual({ a: [sent.id], b: [sent.id] });
    expect(await t.alpha.query(`SELECT status, message_id FROM outbox`)).toEqual([]); // delivered: deleted
    expect(await deadLetters.list()).toEqual([]);
    expect(await deadLetters.requeue('alpha', sent.id)).toBe(false);
  });

  it('purges one or all', async () => {
    const one = await deadLetter(1);
    await deadLetter(2);
    await deadLetter(3);
    expect(await deadLetters.purge('alpha', one.id)).toBe(true);
    expect(await deadLetters.purge('alpha', one.id)).toBe(false);
    expect(await deadLetters.list()).toHaveLength(2);
    expect(await deadLetters.purgeAll('alpha')).toBe(2);
    expect(await deadLetters.list()).toEqual([]);
  });

  it('reports per-module stats with the age of the oldest due message', async () => {
    await deadLetter(1);
    await t.alpha.transaction((tx) => outbox().add(tx, Note, { n: 9 }, { key: 'waiting' }));
    await t.alpha.query(`UPDATE outbox SET created_at = now() - interval '90 seconds' WHERE status = 'pending'`);
    await t.alpha.transaction((tx) => outbox().add(tx, Note, { n: 10 }, { key: 'later', notBefore: new Date(Date.now() + 3_600_000) }));
    const stats = await deadLetters.stats();
    expect(stats.find((s) => s.module === 'alpha')).toMatchObject({ pending: 2, leased: 0, retrying: 0, delayed: 1, dead: 1 });
    expect(stats.find((s) => s.module === 'alpha')!.oldestPendingMs).toBeGreaterThanOrEqual(90_000);
    expect(stats.find((s) => s.module === 'beta')).toMatchObject({ pending: 0, dead: 0, oldestPendingMs: null });
  });

  describe('messages CLI', () => {
    async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
      let out = '';
      let err = '';
      const code = await runMessagesCli(argv, ['alpha', 'beta'], {
        env: { DATABASE_URL: t.db.url, MODULE_DB_SECRET: t.db.settings.roleSecret, DB_ROLE_PREFIX: t.db.settings.rolePrefix },
        out: (t) => void (out += t),
        err: (t) => void (err += t),
      });
      return { code, out, err };
    }

    it('lists, shows, requeues and purges dead letters, and prints outbox stats', async () => {
      const sent = await deadLetter(7);
      const list = await cli('dead-letters', 'list');
      expect(list).toMatchObject({ code: 0, err: '' });
      expect(list.out).toContain(sent.id);
      expect(list.out).toContain(Note.type);
      expect(list.out).toMatch(/│ Module │ Id/);

      const show = await cli('dead-letters', 'show', 'alpha', sent.id);
      expect(show.code).toBe(0);
      expect(show.out).toContain('B cannot handle this yet');
      expect(show.out).toContain(`"id": "${sent.id}"`);

      const stats = await cli('outbox', 'stats');
      expect(stats.out).toMatch(/alpha\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*1/);

      expect(await cli('dead-letters', 'requeue', 'alpha')).toMatchObject({
        code: 1,
        err: expect.stringContaining('either a message id or --all'),
      });
      expect((await cli('dead-letters', 'requeue', 'alpha', '--all')).out).toBe('Requeued 1 dead letter of alpha.\n');
      expect((await cli('dead-letters', 'purge', 'alpha', sent.id)).code).toBe(1); // no longer dead
      expect((await cli('dead-letters', 'list')).out).toBe('No dead letters.\n');
    });

    it("runs each module's statements as that module's own login role, never as an admin", async () => {
      const sent = await deadLetter(8);
      // What a compromised module could plant in its own schema: whoever updates its outbox runs this trigger.
      const admin = new Client({ connectionString: t.db.url });
      await admin.connect();
      try {
        await admin.query(`CREATE TABLE alpha.who (name text)`);
        await admin.query(`CREATE FUNCTION alpha.record_who() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO alpha.who VALUES (current_user); RETURN NEW; END $$`);
        await admin.query(`CREATE TRIGGER record_who BEFORE UPDATE ON alpha.outbox FOR EACH ROW EXECUTE FUNCTION alpha.record_who()`);
        await admin.query(`GRANT INSERT ON alpha.who TO PUBLIC`);
        expect((await cli('dead-letters', 'requeue', 'alpha', sent.id)).code).toBe(0);
        const login = moduleRoles(t.db.settings.rolePrefix, 'alpha', t.db.settings.roleSecret).login;
        expect((await admin.query(`SELECT DISTINCT name FROM alpha.who`)).rows).toEqual([{ name: login }]);
      } finally {
        await admin.query(`DROP TRIGGER IF EXISTS record_who ON alpha.outbox`).catch(() => undefined);
        await admin.end();
      }
    });

    it('prints JSON with --json', async () => {
      const sent = await deadLetter(9);
      const list = await cli('--json', 'dead-letters', 'list');
      expect(list.code).toBe(0);
      expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ module: 'alpha', id: sent.id, type: Note.type })]);
      const stats = JSON.parse((await cli('--json', 'outbox', 'stats')).out) as { module: string; dead: number }[];
      expect(stats.find((s) => s.module === 'alpha')?.dead).toBe(1);
    });

    it('says what to do when it cannot connect or the module is unknown', async () => {
      let err = '';
      const code = await runMessagesCli(['outbox', 'stats'], ['alpha'], {
        env: { EMBEDDED_PG_PORT: '1' },
        out: () => undefined,
        err: (t) => void (err += t),
      });
      expect(code).toBe(1);
      expect(err).toMatch(/Cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/monolith as the alpha module.*Set DATABASE_URL/);
      expect(await cli('dead-letters', 'show', 'gamma', randomUUID())).toMatchObject({
        code: 1,
        err: expect.stringContaining("No module 'gamma'"),
      });
      expect((await cli('dead-letters', 'frobnicate')).code).toBe(2);
    });
  });
});
