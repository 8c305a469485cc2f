#!/usr/bin/env node
// The order saga on DBOS Transact, serving the benchmark's HTTP API on the monolith's own tables.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch PORT=3100 \
//   MONOLITH_MIGRATE_JS=dist/apps/monolith/src/migrate.js node tools/bench/peers/dbos/main.mjs
// MONOLITH_MIGRATE_JS: the built monolith's `npm run migrate`, run once first, so the schemas, roles and tables are
// the monolith's own (unset: they must exist). DBOS's system database is the same database (schema dbos).
// DBOS_APP_POOL (default 20) and DBOS_SYSTEM_POOL (default 10): the app's and DBOS's connection pools.
import { DBOS } from '@dbos-inc/dbos-sdk';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { httpApp } from './http.mjs';
import { defineOrderSaga } from './saga.mjs';
import { appDataSource, defineShop, defineSteps } from './steps.mjs';

const env = process.env;
const databaseUrl = env.DATABASE_URL;
if (!databaseUrl) {
  console.error('Set DATABASE_URL to the database to serve (a role that may create schemas: DBOS adds dbos.*).');
  process.exit(2);
}
const count = (name, fallback) => {
  const n = Number(env[name] ?? fallback);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a whole number > 0, got '${env[name]}'`);
  return n;
};

if (env.MONOLITH_MIGRATE_JS) {
  const migrated = spawnSync(process.execPath, [env.MONOLITH_MIGRATE_JS], { env, stdio: 'inherit' });
  if (migrated.status !== 0) {
    console.error(`The monolith's migrations (${env.MONOLITH_MIGRATE_JS}) failed with ${migrated.status ?? migrated.signal}; see above.`);
    process.exit(1);
  }
}

// Registration comes before DBOS.launch(): the data source, the transactions and the workflows.
const pool = new pg.Pool({ connectionString: databaseUrl, max: count('DBOS_APP_POOL', 20), application_name: 'dbos-peer:app' });
pool.on('error', (e) => console.error(`app pool: ${e.message}`));
const data = appDataSource(pool);
const { orderSaga } = defineOrderSaga(defineSteps(data));
const shop = defineShop(data);
const depositWorkflow = DBOS.registerWorkflow((customerId, amountCents) => shop.deposit(customerId, amountCents), { name: 'deposit' });

let ready = false;
DBOS.setConfig({
  name: 'monolith-first-dbos-peer',
  systemDatabaseUrl: databaseUrl,
  systemDatabasePoolSize: count('DBOS_SYSTEM_POOL', 10),
  logLevel: env.DBOS_LOG_LEVEL ?? 'warn',
});
await DBOS.launch();
const server = httpApp({ orderSaga, shop, depositWorkflow, ready: () => ready }).listen(
  count('PORT', 3000),
  env.HOST ?? '127.0.0.1',
  () => {
    ready = true;
    console.log(`DBOS peer listening on http://${env.HOST ?? '127.0.0.1'}:${server.address().port}`);
  },
);
server.keepAliveTimeout = 65_000;

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    ready = false;
    // no new requests; the workflows running here get a moment to finish, the rest resume at the next start
    await new Promise((resolve) => server.close(resolve));
    await DBOS.shutdown({ workflowCompletionTimeoutMS: 10_000 });
    await pool.end();
    process.exit(0);
  });
}
