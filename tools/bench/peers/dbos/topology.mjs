// `npm run bench -- --topology dbos`: the same workload and measurement, with the DBOS peer in the monolith's place.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.mjs');

export const dbosTopology = {
  label: 'DBOS Transact 5.1 (peer)',
  remote: false,
  dash: '1 3',
  /**
   * The process to start instead of the monolith (it gets the monolith's environment: DATABASE_URL, PORT, ...).
   * It first runs the snapshot's `npm run migrate`, so the tables are the monolith's own.
   */
  app: ({ code }) => ({
    name: 'dbos-peer',
    script: MAIN,
    env: { MONOLITH_MIGRATE_JS: path.join(path.dirname(code.monolith), 'migrate.js') },
  }),
  /**
   * Orders not settled yet. The 202 answers once the workflow is durably started, before its first step writes
   * the order row, so the workflows are counted rather than the PENDING orders.
   */
  pending: async (admin) =>
    Number(
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM dbos.workflow_status WHERE name = 'orderSaga' AND status IN ('PENDING', 'ENQUEUED')`,
        )
      ).rows[0].n,
    ),
};
