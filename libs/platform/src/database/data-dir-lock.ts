import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/**
 * Who owns an embedded PostgreSQL's data directory: `<dataDir>.lock`, beside it, names the owning process (pid, its
 * start time, the host). A live owner means "another running instance": refuse. A dead one (SIGKILL, a reboot) means
 * "an orphan may be left": take over, then stop the orphan if postmaster.pid names this directory's postmaster.
 */
interface Owner {
  pid: number;
  /** The process's start time as the OS reports it: with the pid, it names one process even after pid reuse. */
  started: string | null;
  host: string;
}

export class DataDirInUse extends Error {
  override name = 'DataDirInUse';
}

export class DataDirLock {
  private constructor(
    private readonly file: string,
    private readonly owner: Owner,
  ) {}

  /** Takes the lock of `dataDir`, or throws DataDirInUse naming the live instance that holds it. */
  static acquire(dataDir: string): DataDirLock {
    const file = `${dataDir}.lock`;
    mkdirSync(path.dirname(file), { recursive: true });
    const me: Owner = { pid: process.pid, started: processStartTime(process.pid), host: hostname() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
        return new DataDirLock(file, me);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readOwner(file);
      if (holder && isRunning(holder)) {
        throw new DataDirInUse(
          `The data directory ${dataDir} is in use by another running instance (pid ${holder.pid} on ${holder.host}, see ${file}). ` +
            'Stop that one first, or give this one its own DATA_DIR (and EMBEDDED_PG_PORT). Two servers must never share one data directory.',
        );
      }
      unlinkSync(file); // its owner is gone: stale
    }
    throw new DataDirInUse(`Could not take ${file}: other instances keep taking it. Start one instance at a time.`);
  }

  release(): void {
    if (readOwner(this.file)?.pid !== this.owner.pid) return;
    try {
      unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}

function readOwner(file: string): Owner | null {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Owner;
    return Number.isInteger(owner.pid) ? owner : null;
  } catch {
    return null; // unreadable or half-written: nobody can be shown to own it
  }
}

function isRunning(owner: Owner): boolean {
  if (owner.host !== hostname()) return true; // a data directory shared over the network: we cannot tell, so refuse
  if (!isAlive(owner.pid)) return false;
  const started = processStartTime(owner.pid);
  return owner.started === null || started === null || started === owner.started;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, only not ours to signal
  }
}

/** Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); elsewhere `ps -o lstart=`. Null when unknown. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    const ps = spawnSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' });
    return ps.status === 0 ? ps.stdout.trim() || null : null;
  }
}

/**
 * Whether `pid` is the postmaster of `dataDir`, not some process that got its pid after a reboot: a postmaster's
 * working directory is its data directory (Linux); elsewhere, its command line names the directory.
 */
export function isPostmasterOf(pid: number, dataDir: string): boolean {
  const real = realpathSync(dataDir);
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === real && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return ps.status === 0 && ps.stdout.includes('postgres') && (ps.stdout.includes(dataDir) || ps.stdout.includes(real));
  }
}
