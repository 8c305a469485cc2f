// The floor, measured inside `npm run bench`: on the same PostgreSQL as the topologies, on a scratch database
// migrated by the snapshot's own `npm run migrate`, seeded like the workload's shop.
import { execFile } from 'node:child_process';
import { scratchDatabase } from '../../harness/infra.mjs';
import { runFloor, seedFloorShop } from '../floor.mjs';
import { ROLE_SECRET } from './topology-run.mjs';

function migrate(script, url) {
  const env = { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: url, DATABASE_ADMIN_URL: url, MODULE_DB_SECRET: ROLE_SECRET };
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [script], { env, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`migrating the floor's database failed: ${stderr || stdout || error.message}`)) : resolve(),
    ),
  );
}

/** Runs the floor for `seconds` with `clients` connections; returns runFloor's figures. */
export async function measureFloor(ctx, { seconds, clients, say }) {
  const db = await scratchDatabase(ctx.server.url, 'bench_floor');
  try {
    await migrate(ctx.code.migrate, db.url);
    await seedFloorShop(db.url);
    return await runFloor({
      url: db.url,
      pgPid: ctx.server.embedded ? ctx.server.pid : undefined,
      seconds,
      clients,
      dist: ctx.code.dist,
      say,
    });
  } finally {
    await db.drop().catch((e) => console.error(`could not drop ${db.name}: ${e.message}`));
  }
}
