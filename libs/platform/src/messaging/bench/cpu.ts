// CPU spent on a run: this process (process.cpuUsage) and PostgreSQL's processes (utime + stime in /proc/<pid>/stat).
// The same reading as tools/bench/peers/queues/cpu.mjs, so the relay's figures and its peers' compare.
import { readFileSync } from 'node:fs';

const TICK_S = 0.01; // USER_HZ is 100 on Linux

export interface CpuCounters {
  node: number;
  postgres: Map<number, number>;
}

export interface CpuPerThousand {
  /** CPU-seconds of this process (producer, relay and handler) per 1,000 messages. */
  node: number;
  /** CPU-seconds of the counted PostgreSQL processes per 1,000 messages; null when none could be read (a remote server). */
  postgres: number | null;
  postgresProcesses: number;
}

function processSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_S; // utime, stime (fields 14 and 15 of stat(5))
  } catch {
    return null; // gone, or not on this machine
  }
}

/** A snapshot; `pids` is asked at each one, so a backend that connects during the run is counted from zero at the end. */
export async function cpuCounters(pids: () => Promise<number[]>): Promise<CpuCounters> {
  const usage = process.cpuUsage();
  const postgres = new Map<number, number>();
  for (const pid of await pids()) {
    const s = processSeconds(pid);
    if (s !== null) postgres.set(pid, s);
  }
  return { node: (usage.user + usage.system) / 1e6, postgres };
}

export function cpuPerThousand(before: CpuCounters, after: CpuCounters, messages: number): CpuPerThousand {
  let postgres = 0;
  for (const [pid, s] of after.postgres) postgres += s - (before.postgres.get(pid) ?? 0);
  const per = (seconds: number) => (seconds * 1000) / messages;
  return {
    node: per(after.node - before.node),
    postgres: after.postgres.size > 0 ? per(postgres) : null,
    postgresProcesses: after.postgres.size,
  };
}
