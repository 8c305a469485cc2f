// CPU spent on a run: this process (process.cpuUsage) and PostgreSQL's backends (utime + stime in /proc/<pid>/stat).
import { readFileSync, readdirSync } from 'node:fs';

const TICK_S = 0.01; // USER_HZ is 100 on Linux

function processSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_S; // utime, stime (fields 14 and 15 of stat(5))
  } catch {
    return null; // gone, or not on this machine (a remote server)
  }
}

/**
 * A snapshot. `pids` returns the PostgreSQL processes to count (a function, so a backend that connects during
 * the run is found at its end and counted from zero; one that exits during the run is lost).
 */
export async function cpuCounters(pids) {
  const usage = process.cpuUsage();
  const postgres = new Map();
  for (const pid of await pids()) {
    const s = processSeconds(pid);
    if (s !== null) postgres.set(pid, s);
  }
  return { node: (usage.user + usage.system) / 1e6, postgres };
}

/** CPU-seconds per 1,000 messages between two snapshots; postgres is null when no backend could be read (a remote server). */
export function cpuPerThousand(before, after, messages) {
  let postgres = 0;
  for (const [pid, s] of after.postgres) postgres += s - (before.postgres.get(pid) ?? 0);
  const per = (seconds) => (seconds * 1000) / messages;
  return {
    node: per(after.node - before.node),
    postgres: after.postgres.size > 0 ? per(postgres) : null,
    postgresProcesses: after.postgres.size,
  };
}

/** Children of the postmaster (backends and background processes), read from /proc: an embedded server's whole CPU. */
export function postmasterChildren(ppid) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
