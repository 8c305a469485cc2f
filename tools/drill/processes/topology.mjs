// One topology under drill: PostgreSQL (and Redis when billing is extracted), each behind a link the faults can
// shape, the apps on scratch databases, and the shop they sell from. Everything is stopped by world.stop(), and
// by the harness cleanup on a failure or a signal.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort, scratchDatabase } from '../../harness/infra.mjs';
import { setUpShop } from '../../harness/workload.mjs';
import { startLatencyProxy } from '../faults/latency-proxy.mjs';
import { createNamespace } from '../faults/namespace.mjs';
import { LinkShaper, netemAvailable } from '../faults/shaping.mjs';
import { App, baseEnv } from './apps.mjs';
import { externalPostgres, startOwnPostgres } from './postgres.mjs';
import { startOwnRedis } from './redis.mjs';

export const SHOP = { prefix: 'DRILL', stock: 1_000_000, depositCents: 10_000_000_000, priceCents: 100 };

/** A URL with its host and port replaced (the apps reach a server through the link, the drill directly). */
const via = (url, { host, port }) => Object.assign(new URL(url), { hostname: host, port: String(port) }).toString();

function hostPort(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

/** A link's far end: in a namespace when the machine allows, with the latency proxy in front when there is no netem. */
async function farEnd(tag, caps, logDir, name) {
  let ns = null;
  if (!caps.namespaces) ns = createNamespace(tag);
  let proxy = null;
  const front =
    ns && netemAvailable(ns)
      ? undefined
      : async (host, port) => (proxy = await startLatencyProxy({ name, upstreamHost: host, upstreamPort: port, logDir }));
  return { ns, front, shaper: () => new LinkShaper(ns, { proxy, nft: caps.nft }), proxy: () => proxy };
}

export async function startTopology(name, opts, ctx) {
  const remote = name === 'extracted';
  const logDir = path.join(ctx.logDir, name);
  mkdirSync(logDir, { recursive: true });
  const world = { name, remote, adminToken: ctx.adminToken, logDir, drains: [], exits: [], links: {}, stops: [] };

  const pgEnd = opts.databaseUrl ? { ns: null, front: null } : await farEnd('p', ctx.caps, logDir, 'postgres');
  if (opts.databaseUrl) {
    world.pg = externalPostgres(opts.databaseUrl, opts.pgRestartCommand);
    const proxy = await startLatencyProxy({ name: 'postgres', ...upstream(opts.databaseUrl), logDir });
    world.pg.url = via(opts.databaseUrl, proxy);
    world.stops.push(() => proxy.stop());
    world.links.postgres = new LinkShaper(null, { proxy, nft: 'needs the drill’s own PostgreSQL in a namespace' });
  } else {
    world.pg = await startOwnPostgres({ logDir, ns: pgEnd.ns, front: pgEnd.front });
    world.links.postgres = pgEnd.shaper();
    world.stops.push(() => pgEnd.proxy()?.stop());
  }
  world.pgNamespace = pgEnd.ns;
  const mainDb = await scratchDatabase(world.pg.directUrl, 'drill');
  const billingDb = remote ? await scratchDatabase(world.pg.directUrl, 'drill_billing') : null;
  const appUrl = (db) => via(db.url, hostPort(world.pg.url));

  if (remote) {
    const redisEnd = await farEnd('r', ctx.caps, logDir, 'redis');
    world.redis = await startOwnRedis({ logDir, ns: redisEnd.ns, front: redisEnd.front });
    world.links.redis = redisEnd.shaper();
    world.stops.push(() => redisEnd.proxy()?.stop());
    world.redisNamespace = redisEnd.ns;
  }

  const common = {
    NODE_ENV: 'production',
    LOG_FORMAT: 'json',
    HOST: '127.0.0.1',
    MODULE_DB_SECRET: ctx.roleSecret,
    ADMIN_TOKEN: ctx.adminToken,
    AUTH_MODE: 'off', // the load is anonymous; authentication has its own tests
    STARTUP_RETRY_MS: '60000',
    ...(remote ? { REDIS_URL: world.redis.url, BULLMQ_PREFIX: `mf-drill-${randomBytes(4).toString('hex')}` } : {}),
    ...opts.appEnv,
  };
  const app = async (appName, main, env) => {
    const port = await freePort();
    const portVar = appName === 'billing-service' ? 'BILLING_PORT' : 'PORT';
    return new App({
      name: appName,
      main,
      port,
      env: baseEnv({ ...common, ...env, [portVar]: String(port), DATA_DIR: path.join(logDir, `${appName}-data`) }),
      logFile: path.join(logDir, `${appName}.log`),
      drains: world.drains,
      exits: world.exits,
    });
  };
  // As in production: a one-shot job with the admin connection migrates; the apps then log in as module roles only.
  await migrate(
    ctx.code.migrate,
    baseEnv({ ...common, DATABASE_URL: appUrl(mainDb), DATABASE_ADMIN_URL: mainDb.url, ...(remote ? { REMOTE_MODULES: 'billing' } : {}) }),
    logDir,
  );
  if (remote) {
    // billing's own database: the same job, hosting billing alone
    await migrate(
      ctx.code.migrate,
      baseEnv({ ...common, DATABASE_URL: appUrl(billingDb), DATABASE_ADMIN_URL: billingDb.url, REMOTE_MODULES: 'orders,inventory' }),
      logDir,
    );
    world.billing = await app('billing-service', ctx.code.billing, { BILLING_DATABASE_URL: appUrl(billingDb) });
    await world.billing.start();
  }
  const monolithEnv = { DATABASE_URL: appUrl(mainDb), ...(remote ? { REMOTE_MODULES: 'billing' } : {}) };
  world.monoliths = [await app('monolith', ctx.code.monolith, monolithEnv)];
  await world.monoliths[0].start();
  /** A second monolith instance (rolling restarts), on the same database. */
  world.addMonolith = async () => {
    const second = await app(`monolith-${world.monoliths.length + 1}`, ctx.code.monolith, monolithEnv);
    world.monoliths.push(second);
    await second.start();
    return second;
  };
  world.apps = () => [...(world.billing ? [world.billing] : []), ...world.monoliths];
  /** Where the load goes: every monolith instance that is up and not being stopped (the drill is the load balancer). */
  world.ordersUrls = () => world.monoliths.filter((m) => m.running && !m.draining).map((m) => m.url);
  world.billingUrl = (world.billing ?? world.monoliths[0]).url;

  // The drill's own connections for the checks: pools, so they come back by themselves after PostgreSQL restarts.
  const pool = (url) => {
    const p = new pg.Pool({
      connectionString: url,
      max: 2,
      idleTimeoutMillis: 1_000,
      connectionTimeoutMillis: 5_000,
      application_name: 'monolith-first:drill',
    });
    p.on('error', () => undefined);
    return p;
  };
  world.db = { main: pool(mainDb.url), billing: pool((billingDb ?? mainDb).url) };
  world.databases = remote ? [world.db.main, world.db.billing] : [world.db.main];

  await setUpShop({
    ordersUrl: world.monoliths[0].url,
    billingUrl: world.billingUrl,
    skus: opts.skus,
    customers: opts.customers,
    prefix: SHOP.prefix,
    stock: SHOP.stock,
    depositCents: SHOP.depositCents,
  });
  world.shop = { skus: opts.skus, customers: opts.customers, ...SHOP };

  world.stop = async () => {
    for (const a of world.apps().reverse()) await a.stop('end of the topology');
    await world.db.main.end().catch(() => undefined);
    await world.db.billing.end().catch(() => undefined);
    await billingDb?.drop().catch(() => undefined);
    await mainDb.drop().catch(() => undefined);
    await world.redis?.stop();
    if (world.pg.embedded) await world.pg.stop(); // an external server is only ever touched by its restart command
    for (const stop of world.stops) await stop();
    world.redisNamespace?.destroy();
    world.pgNamespace?.destroy();
  };
  return world;
}

/** `npm run migrate` of the snapshot, its output in the topology's migrate.log; rejects unless it exits 0. */
function migrate(script, env, logDir) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { env, timeout: 120_000 }, (error, stdout, stderr) => {
      appendFileSync(path.join(logDir, 'migrate.log'), `${stdout}${stderr}`);
      if (error) reject(new Error(`npm run migrate failed (${error.message.split('\n')[0]}); see ${path.join(logDir, 'migrate.log')}`));
      else resolve();
    });
  });
}

function upstream(url) {
  const { host, port } = hostPort(url);
  return { upstreamHost: host, upstreamPort: port };
}
