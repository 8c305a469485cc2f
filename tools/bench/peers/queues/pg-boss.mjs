// pg-boss 10.x as a peer of the relay (11+ needs Node 22). See README.md for the settings and why.
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import { runQueuePeer } from './harness.mjs';

const QUEUE = 'bench-tick';

/**
 * Its throughput settings: a worker fetches up to `batchSize` jobs, hands them to the handler at once, and
 * then sleeps for what is left of `pollingIntervalSeconds` (0.5 s is the smallest pg-boss accepts). v10 has
 * no LISTEN/NOTIFY, so that poll is also its latency floor. Several work() calls are several workers.
 */
export const SETTINGS = { workers: 10, batchSize: 200, pollingIntervalSeconds: 0.5, poolSize: 20 };

export const adapter = {
  name: 'pg-boss',
  slug: 'pgboss',
  version: createRequire(import.meta.url)('pg-boss/package.json').version,
  orders: ['none', 'per-key'],
  orderGuarantee: {
    none: 'none (any job may start while an earlier one of its key runs)',
    'per-key':
      "queue policy 'singleton' with singletonKey = key: at most one active job per key, but not in order: a fetched batch " +
      'holding several jobs of a key starts an arbitrary one (row_number() without ORDER BY), and a fetch that would make ' +
      'a second job of a key active fails whole (unique index job_i2), after which that worker sleeps a poll interval',
  },

  async open({ databaseUrl, schema, order, handle, settings }) {
    const s = { ...SETTINGS, ...settings };
    const boss = new PgBoss({ connectionString: databaseUrl, schema, max: s.poolSize, application_name: 'peer:pg-boss' });
    boss.on('error', (e) => console.error(`pg-boss: ${e.message}`));
    await boss.start();
    await boss.createQueue(QUEUE, { name: QUEUE, policy: order === 'per-key' ? 'singleton' : 'standard' });
    const db = boss.getDb();
    const options = (key) => (order === 'per-key' ? { singletonKey: key } : {});
    return {
      settings: { ...s, policy: order === 'per-key' ? 'singleton' : 'standard', listenNotify: false },
      enqueueMany: (messages) => boss.insert(messages.map(({ i, key }) => ({ name: QUEUE, data: { i }, ...options(key) }))),
      enqueueIn: (client, { i, key }) =>
        boss.send(QUEUE, { i }, { ...options(key), db: { executeSql: (text, values) => client.query(text, values) } }),
      start: async () => {
        for (let w = 0; w < s.workers; w++) {
          await boss.work(QUEUE, { batchSize: s.batchSize, pollingIntervalSeconds: s.pollingIntervalSeconds }, async (jobs) => {
            for (const job of jobs) handle(job.data.i);
          });
        }
      },
      unfinished: async () =>
        Number(
          (await db.executeSql(`SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1 AND state < 'completed'`, [QUEUE])).rows[0].n,
        ),
      close: () => boss.stop({ graceful: true, wait: true, timeout: 10_000 }),
    };
  },
};

/** pg-boss on `databaseUrl`; see README.md for the options and the result. */
export function run(options) {
  return runQueuePeer(adapter, options);
}
