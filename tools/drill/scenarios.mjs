// The drills. Each runs under the steady load the runner keeps up, injects its fault through ctx.fault() (which
// records when it was on, for the recovery time and the p99 under fault) and leaves the world healthy again.
// `needs(world, ctx)` returns why a scenario cannot run here (then it is reported as skipped), or null.

/** Durations: --quick runs every scenario once, briefly (CI, every landing); the full drill runs longer faults. */
export const DURATIONS = {
  quick: { shapeS: 6, partitionS: 10, prePartitionS: 3, pgDownS: [5, 5], redisDownS: [2, 2], lossPct: 5, mbit: 10 },
  full: { shapeS: 30, partitionS: 30, prePartitionS: 10, pgDownS: [5, 30], redisDownS: [2, 10], lossPct: 10, mbit: 1 },
};
export const LATENCY = { ms: 50, jitterMs: 20 };

const both = ['monolith', 'extracted'];
const extracted = ['extracted'];
/**
 * --quick drills a scenario of both topologies in one of them only (`quick`), to stay within a few minutes on
 * 2 cores: what PostgreSQL does to the monolith, what Redis does to the extracted billing; kill-monolith and the
 * poison run in both. The full drill runs everything everywhere.
 */
const monolithInQuick = ['monolith'];

/**
 * kill -9 at a random moment under load, `rounds` times, all under one load run; the next round waits for the
 * previous one's recovery. The fault lasts from the kill until the victim is back (restarted and ready): the orders
 * sent while it was down are the ones its p99 is about, and recovery counts from its return.
 */
function killRounds(victim, kill, restart) {
  return async (world, ctx) => {
    for (let round = 1; round <= ctx.rounds; round++) {
      ctx.round(round);
      await ctx.pause(ctx.rand(1_000, 3_000));
      await ctx.fault(
        `kill -9 ${victim}`,
        () => kill(world),
        () => ctx.pause(ctx.rand(0, 1_000)),
        () => restart(world),
      );
      await ctx.recovered();
    }
  };
}

const pgRestartable = (world) => (world.pg.embedded || world.pg.restartable ? null : 'an external PostgreSQL needs --pg-restart-command');

function linkNeeds(link, kinds) {
  return (world, ctx) => {
    const shaper = world.links[link];
    if (!shaper) return `no ${link} link in this topology`;
    if (kinds.includes('ns') && !shaper.ns) return ctx.caps.namespaces ?? `needs the drill's own ${link} in a namespace`;
    if (kinds.includes('nft') && (shaper.nft || ctx.caps.nft)) return shaper.nft || ctx.caps.nft;
    return null;
  };
}

function network(link) {
  const label = link === 'postgres' ? 'PostgreSQL' : 'Redis';
  const topologies = link === 'redis' ? extracted : both;
  const quick = link === 'redis' ? extracted : monolithInQuick;
  const shaped = (name, describe, needs, apply) => ({
    name: `net-${link}-${name}`,
    group: 'network',
    topologies,
    quick,
    describe,
    needs: linkNeeds(link, needs),
    run: async (world, ctx) => {
      const shaper = world.links[link];
      await ctx.pause(ctx.rand(1_000, 2_000));
      await ctx.fault(
        `${label} link: ${name}`,
        () => apply(shaper, ctx.durations),
        () => ctx.pause(ctx.durations.shapeS * 1_000),
        () => shaper.clear(),
      );
      await ctx.recovered();
    },
  });
  return [
    shaped('latency', `${LATENCY.ms} ± ${LATENCY.jitterMs} ms on the ${label} link`, [], (s) => s.latency(LATENCY.ms, LATENCY.jitterMs)),
    shaped('loss', `random packet loss on the ${label} link (nftables in its namespace)`, ['ns', 'nft'], (s, d) => s.loss(d.lossPct)),
    shaped('bandwidth', `a bandwidth cap on the ${label} link (tbf on both ends of the veth)`, ['ns'], (s, d) => s.bandwidth(d.mbit)),
    {
      name: `net-${link}-partition`,
      group: 'network',
      topologies,
      quick,
      describe: `the ${label} link degraded (5 % loss, 10 Mbit/s, ${LATENCY.ms} ± ${LATENCY.jitterMs} ms), then cut`,
      needs: linkNeeds(link, ['ns', 'nft']),
      judgesDeadline: true, // partition-cancels-nothing (invariants/partition.mjs)
      run: async (world, ctx) => {
        const shaper = world.links[link];
        const d = ctx.durations;
        ctx.partitionMs = (d.prePartitionS + d.partitionS) * 1_000; // degraded, then cut: judged as one partition
        await ctx.pause(ctx.rand(1_000, 2_000));
        await ctx.fault(
          `${label} link: degraded, then partitioned for ${d.partitionS} s`,
          async () => {
            await shaper.latency(LATENCY.ms, LATENCY.jitterMs);
            shaper.loss(5);
            if (!shaper.tc) shaper.bandwidth(10); // netem latency and tbf are not combined
          },
          async () => {
            await ctx.pause(d.prePartitionS * 1_000);
            shaper.partition();
            ctx.note(shaper.describe());
            await ctx.pause(d.partitionS * 1_000);
          },
          () => shaper.clear(),
        );
        await ctx.recovered();
      },
    },
  ];
}

export const SCENARIOS = [
  {
    name: 'kill-monolith',
    group: 'kill',
    topologies: both,
    describe: 'kill -9 of the monolith at a random moment, then a restart',
    run: killRounds(
      'monolith',
      (w) => w.monoliths[0].kill9(),
      (w) => w.monoliths[0].start(),
    ),
  },
  {
    name: 'kill-billing',
    group: 'kill',
    topologies: extracted,
    describe: 'kill -9 of billing-service, then a restart',
    run: killRounds(
      'billing-service',
      (w) => w.billing.kill9(),
      (w) => w.billing.start(),
    ),
  },
  {
    name: 'kill-redis',
    group: 'kill',
    topologies: extracted,
    describe: 'kill -9 of redis-server, then a restart on the same append-only file',
    run: killRounds(
      'redis',
      (w) => w.redis.kill9(),
      (w) => w.redis.start(),
    ),
  },
  {
    name: 'kill-postgres',
    group: 'kill',
    topologies: both,
    quick: monolithInQuick,
    describe: 'kill -9 of the PostgreSQL postmaster and every backend (a crash of the server), then crash recovery',
    needs: pgRestartable,
    run: killRounds(
      'postgres',
      (w) => w.pg.kill9(),
      (w) => w.pg.start(),
    ),
  },
  {
    name: 'restart-rolling',
    group: 'restart',
    topologies: both,
    quick: monolithInQuick,
    describe: 'a second monolith instance, then a graceful (SIGTERM) rolling restart of both',
    run: async (world, ctx) => {
      const second = await world.addMonolith();
      await ctx.pause(ctx.rand(1_000, 2_000));
      await ctx.fault('rolling restart', async () => {
        for (const instance of [world.monoliths[0], second]) {
          instance.draining = true; // the load balancer takes it out first
          await ctx.pause(300);
          await instance.stop('rolling restart');
          instance.draining = false;
          await instance.start();
        }
      });
      await ctx.recovered();
      second.draining = true;
      await ctx.pause(300);
      await second.stop('scale back to one instance');
      world.monoliths.splice(world.monoliths.indexOf(second), 1);
    },
  },
  {
    name: 'restart-redis',
    group: 'restart',
    topologies: extracted,
    describe: 'redis-server stopped (SIGTERM) and started again on its append-only file',
    run: async (world, ctx) => {
      await ctx.pause(ctx.rand(1_000, 2_000));
      await ctx.fault(
        'Redis down',
        () => world.redis.stop(),
        () => ctx.pause(ctx.rand(...ctx.durations.redisDownS.map((s) => s * 1_000))),
        () => world.redis.start(), // down until it is back
      );
      await ctx.recovered();
    },
  },
  {
    name: 'restart-postgres',
    group: 'restart',
    topologies: both,
    quick: monolithInQuick,
    describe: 'PostgreSQL stopped (fast shutdown) and started again after a while',
    needs: pgRestartable,
    run: async (world, ctx) => {
      const down = ctx.rand(...ctx.durations.pgDownS.map((s) => s * 1_000));
      await ctx.pause(ctx.rand(1_000, 2_000));
      await ctx.fault(
        `PostgreSQL down for ${(down / 1000).toFixed(0)} s`,
        () => world.pg.stop(),
        () => ctx.pause(down),
        () => world.pg.start(), // down until it is back
      );
      await ctx.recovered();
    },
  },
  ...network('redis'),
  ...network('postgres'),
  {
    name: 'poison',
    group: 'poison',
    topologies: both,
    describe: 'a malformed envelope, an invalid payload, a handler that always throws, a handler that kills its process',
    poison: true, // run by the runner: injected before the other scenarios, judged after them
  },
];

export const GROUPS = [...new Set(SCENARIOS.map((s) => s.group))];

/** `--scenario kill,net-redis-partition` → the scenarios, in the order above. */
export function selectScenarios(list) {
  if (!list || list === 'all') return SCENARIOS;
  const wanted = list.split(',').map((s) => s.trim());
  for (const w of wanted) {
    if (!GROUPS.includes(w) && !SCENARIOS.some((s) => s.name === w))
      throw new Error(`unknown scenario '${w}': use one of ${GROUPS.join(', ')} or ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  return SCENARIOS.filter((s) => wanted.includes(s.name) || wanted.includes(s.group));
}
