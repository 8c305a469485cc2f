// graphile-worker 0.16.x as a peer of the relay (0.17+ needs Node 22.18). See README.md for the settings and why.
import { createRequire } from 'node:module';
import { Logger, run as runWorker, runMigrations } from 'graphile-worker';
import pg from 'pg';
import { runQueuePeer } from './harness.mjs';

const TASK = 'bench_tick';

/**
 * The configuration of graphile-worker's own performance page, less its batching options (localQueue,
 * completeJobBatchDelay), which arrived in 0.17: 24 concurrent jobs, a pool of 25. New jobs wake the workers
 * through LISTEN "jobs:insert" (always on); pollInterval (default 2 s) is only the fallback for future/retried jobs.
 */
export const SETTINGS = { concurrency: 24, maxPoolSize: 25, pollInterval: 2000 };

const quiet = new Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

export const adapter = {
  name: 'graphile-worker',
  slug: 'gw',
  version: createRequire(import.meta.url)('graphile-worker/package.json').version,
  orders: ['none', 'per-key'],
  orderGuarantee: {
    none: 'none (jobs without a queue_name run in parallel)',
    'per-key': 'job queue per key (queue_name = key): one job of a queue at a time, in order',
  },

  async open({ databaseUrl, schema, order, handle, settings }) {
    const s = { ...SETTINGS, ...settings };
    const pool = new pg.Pool({ connectionString: databaseUrl, max: s.maxPoolSize, application_name: 'peer:graphile-worker' });
    pool.on('error', () => undefined);
    const common = { pgPool: pool, schema, logger: quiet, noHandleSignals: true };
    await runMigrations(common);
    const queueName = (key) => (order === 'per-key' ? key : null);
    const q = (name) => `${pg.escapeIdentifier(schema)}.${name}`;
    let runner;
    return {
      settings: { ...s, listenNotify: true, queueName: order === 'per-key' ? 'key' : 'none' },
      enqueueMany: (messages) =>
        pool.query(
          `SELECT count(*) FROM ${q('add_jobs')}((SELECT array_agg(s) FROM json_populate_recordset(null::${q('job_spec')}, $1::json) s))`,
          [JSON.stringify(messages.map(({ i, key }) => ({ identifier: TASK, payload: { i }, queue_name: queueName(key) })))],
        ),
      // add_job is graphile-worker's documented way to enqueue inside the application's own transaction
      enqueueIn: (client, { i, key }) =>
        client.query(`SELECT ${q('add_job')}($1, $2::json, queue_name => $3)`, [TASK, JSON.stringify({ i }), queueName(key)]),
      start: async () => {
        runner = await runWorker({
          ...common,
          concurrency: s.concurrency,
          pollInterval: s.pollInterval,
          taskList: { [TASK]: async (payload) => handle(payload.i) },
        });
      },
      unfinished: async () => Number((await pool.query(`SELECT count(*)::int AS n FROM ${q('_private_jobs')}`)).rows[0].n),
      close: async () => {
        await runner?.stop();
        await pool.end();
      },
    };
  },
};

/** graphile-worker on `databaseUrl`; see README.md for the options and the result. */
export function run(options) {
  return runQueuePeer(adapter, options);
}
