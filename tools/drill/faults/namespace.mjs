// A network namespace of the drill's own, joined to the host by a veth pair with private /30 addresses. The far
// end of a link (Redis, PostgreSQL) runs inside it, so shaping the veth or filtering inside the namespace touches
// only the drill's traffic, never the host's loopback traffic of others. Deleting the namespace removes the pair,
// its qdiscs and its nftables rules.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { onCleanup } from '../../harness/infra.mjs';

/** Runs a command (no shell); throws with its stderr when it fails. */
export function run(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed: ${String(error.stderr || error.message).trim()}`, { cause: error });
  }
}

const available = (command) => spawnSync(command, ['-V'], { stdio: 'ignore' }).error === undefined;

/** What this machine offers for network faults, each with why not when it does not. */
export function networkCapabilities() {
  const caps = { namespaces: null, nft: null };
  if (process.getuid?.() !== 0) caps.namespaces = 'needs root (network namespaces, veth pairs)';
  else if (!available('ip')) caps.namespaces = "needs iproute2's ip";
  if (!available('nft')) caps.nft = 'needs nftables (apt-get install nftables)';
  return caps;
}

let created = 0;

/** Subnets 10.231.X.Y/30 already on an interface of the host (another drill running now): never reused. */
function usedSubnets() {
  const out = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '';
  return new Set([...out.matchAll(/inet 10\.231\.(\d+)\.(\d+)\//g)].map((m) => `${m[1]}.${Number(m[2]) & ~3}`));
}

/**
 * Creates namespace `mfd<pid><tag>` with the host end `<name>h` and the namespace end `<name>n` (interface names
 * must stay under 16 characters). Returns its addresses and how to run a command inside it.
 */
export function createNamespace(tag) {
  const name = `mfd${process.pid % 100_000}${tag}${created++}`;
  const used = usedSubnets();
  let subnet;
  for (let tries = 0; tries < 100 && !subnet; tries++) {
    const candidate = `${randomInt(0, 256)}.${randomInt(0, 64) * 4}`;
    if (!used.has(candidate)) subnet = candidate;
  }
  if (!subnet) throw new Error('no free 10.231.x.y/30 subnet for a drill namespace');
  const [third, fourth] = subnet.split('.').map(Number);
  const hostIp = `10.231.${third}.${fourth + 1}`;
  const nsIp = `10.231.${third}.${fourth + 2}`;
  const hostIf = `${name}h`;
  const nsIf = `${name}n`;
  run('ip', ['netns', 'add', name]);
  const remove = () => {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' }); // normally gone with the namespace
  };
  const removeCleanup = onCleanup(remove);
  try {
    run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    run('ip', ['link', 'set', nsIf, 'netns', name]);
    run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    run('ip', ['link', 'set', hostIf, 'up']);
    const inside = (command, args) => run('ip', ['netns', 'exec', name, command, ...args]);
    inside('ip', ['addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
    inside('ip', ['link', 'set', nsIf, 'up']);
    inside('ip', ['link', 'set', 'lo', 'up']);
    return {
      name,
      hostIf,
      nsIf,
      hostIp,
      nsIp,
      inside,
      /** argv prefix that runs a program inside the namespace (nsenter execs it: same pid, for kill -9). */
      enter: (uid, gid) => [
        'nsenter',
        `--net=/run/netns/${name}`,
        ...(uid === undefined ? [] : ['-S', String(uid), '-G', String(gid)]),
        '--',
      ],
      destroy: () => {
        removeCleanup();
        remove();
      },
    };
  } catch (error) {
    removeCleanup();
    remove();
    throw error;
  }
}
