// Faults on one link (the host ↔ a namespace): loss and partitions with nftables inside the namespace, a
// bandwidth cap with tbf on both ends of the veth, latency with netem when the kernel has it, else with the
// drill's latency proxy in front of the far end. clear() undoes whatever is on.
import { spawnSync } from 'node:child_process';
import { onCleanup } from '../../harness/infra.mjs';
import { run } from './namespace.mjs';

const TABLE = 'monolith_first_drill';

let netem;
/** Whether `tc qdisc … netem` works here (this project's CI kernel has no netem: "unknown qdisc"). */
export function netemAvailable(ns) {
  if (netem === undefined) {
    netem = spawnSync('tc', ['qdisc', 'add', 'dev', ns.hostIf, 'root', 'netem', 'delay', '1ms'], { stdio: 'ignore' }).status === 0;
    if (netem) spawnSync('tc', ['qdisc', 'del', 'dev', ns.hostIf, 'root'], { stdio: 'ignore' });
  }
  return netem;
}

export class LinkShaper {
  /** proxy: the latency proxy in front of the far end, when latency cannot come from netem. */
  constructor(ns, { proxy, nft }) {
    this.ns = ns;
    this.proxy = proxy;
    this.nft = nft;
    this.active = [];
  }

  /** What is on now, for the progress line ("loss 5 %, 10 Mbit/s"). */
  describe() {
    return this.active.join(', ');
  }

  /** A fault is on: an interrupted drill lifts it first, so the processes it stops can drain. */
  armCleanup() {
    this.disarm ??= onCleanup(() => this.clear());
  }

  async latency(ms, jitterMs) {
    this.armCleanup();
    if (this.ns && netemAvailable(this.ns)) {
      run('tc', ['qdisc', 'replace', 'dev', this.ns.hostIf, 'root', 'netem', 'delay', `${ms}ms`, `${jitterMs}ms`]);
      this.tc = true;
    } else if (this.proxy) await this.proxy.setDelay(ms, jitterMs);
    else throw new Error('latency needs netem or the latency proxy');
    this.active.push(`latency ${ms} ± ${jitterMs} ms`);
  }

  loss(percent) {
    this.rules([
      `iifname "${this.ns.nsIf}" numgen random mod 100 < ${percent} drop`,
      `oifname "${this.ns.nsIf}" numgen random mod 100 < ${percent} drop`,
    ]);
    this.active.push(`loss ${percent} %`);
  }

  /** Both directions: tbf on the host end (towards the server) and on the namespace end (towards the clients). */
  bandwidth(mbit) {
    this.armCleanup();
    const burstBytes = Math.max(4_096, Math.round((mbit * 1e6) / 8 / 50));
    const tbf = ['root', 'tbf', 'rate', `${mbit}mbit`, 'burst', String(burstBytes), 'latency', '400ms'];
    if (this.tc) throw new Error('bandwidth and netem latency at once are not combined by the drill');
    run('tc', ['qdisc', 'replace', 'dev', this.ns.hostIf, ...tbf]);
    this.ns.inside('tc', ['qdisc', 'replace', 'dev', this.ns.nsIf, ...tbf]);
    this.tbf = true;
    this.active.push(`${mbit} Mbit/s`);
  }

  /** Every packet on the link dropped, both ways: connections hang (no reset), as in a real partition. */
  partition() {
    this.rules([`iifname "${this.ns.nsIf}" drop`, `oifname "${this.ns.nsIf}" drop`]);
    this.active.push('partitioned');
  }

  async clear() {
    this.disarm?.();
    this.disarm = undefined;
    if (this.nftOn) spawnSync('ip', ['netns', 'exec', this.ns.name, 'nft', 'delete', 'table', 'inet', TABLE], { stdio: 'ignore' });
    if (this.tbf || this.tc) {
      spawnSync('tc', ['qdisc', 'del', 'dev', this.ns.hostIf, 'root'], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'exec', this.ns.name, 'tc', 'qdisc', 'del', 'dev', this.ns.nsIf, 'root'], { stdio: 'ignore' });
    }
    if (this.proxy) await this.proxy.setDelay(0, 0);
    this.nftOn = this.tbf = this.tc = false;
    this.active = [];
  }

  /** Adds rules to the drill's own table inside the namespace (input for what comes in, output for what leaves). */
  rules(rules) {
    if (!this.ns) throw new Error('loss and partitions need the far end in a network namespace');
    if (this.nft) throw new Error(this.nft);
    this.armCleanup();
    if (!this.nftOn) {
      const nft = (command) => run('ip', ['netns', 'exec', this.ns.name, 'nft', command]);
      nft(`add table inet ${TABLE}`);
      nft(`add chain inet ${TABLE} in { type filter hook input priority 0; policy accept; }`);
      nft(`add chain inet ${TABLE} out { type filter hook output priority 0; policy accept; }`);
      this.nftOn = true;
    }
    for (const rule of rules) {
      const chain = rule.startsWith('iifname') ? 'in' : 'out';
      run('ip', ['netns', 'exec', this.ns.name, 'nft', `add rule inet ${TABLE} ${chain} ${rule}`]);
    }
  }
}
