// Runs the scenarios of one topology on one world: a calm baseline first, the poison in the background, each
// scenario under its own steady load, then settle (bounded) and the invariant checker; SIGTERM for everything at
// the end, judged too.
import { sleep } from '../harness/infra.mjs';
import { check, settle } from './invariants/index.mjs';
import { partitionCancelsNothing } from './invariants/partition.mjs';
import { Load } from './load.mjs';
import { confirmationTimes, firstConfirmationAfter, latency, median } from './metrics.mjs';
import { crashHook, deadPoison, injectBackgroundPoison, injectCrash } from './poison.mjs';
import { startTopology } from './processes/topology.mjs';
import { DURATIONS } from './scenarios.mjs';

const CALM = { name: 'calm', group: 'calm', describe: 'no fault: the baseline for the p99 under fault' };
/** A process that keeps dying on the kills-process poison is restarted this often at most. */
const MAX_POISON_RESTARTS = 15;

export async function runTopology(name, scenarios, opts, ctx, ui) {
  ui.phase(name, 'starting');
  const world = await startTopology(name, opts, ctx);
  const rows = [];
  try {
    const calm = await runScenario(world, CALM, opts, ctx, ui, { calmS: opts.calmS });
    world.calm = calm.latency;
    rows.push(calm);
    const poison = scenarios.find((s) => s.poison && s.topologies.includes(name));
    world.poison = poison ? await injectBackgroundPoison(world) : [];
    for (const s of scenarios) {
      if (s.poison || !s.topologies.includes(name) || (opts.quick && s.quick && !s.quick.includes(name))) continue;
      const why = s.needs?.(world, ctx);
      if (why) rows.push({ topology: name, scenario: s.name, describe: s.describe, skipped: why, violations: [] });
      else rows.push(await runScenario(world, s, opts, ctx, ui));
    }
    if (poison) rows.push(await runScenario(world, poisonScenario(ctx, opts), opts, ctx, ui, { exitsExpected: true }));
  } finally {
    ui.phase(name, 'stopping every process with SIGTERM');
    await world.stop();
  }
  const drains = world.drains.filter((d) => !d.clean);
  rows.push({
    topology: name,
    scenario: 'sigterm-all',
    describe: 'every process stopped with SIGTERM at the end',
    drains: world.drains.length,
    violations: drains.map((d) => ({
      invariant: 'drains-on-sigterm',
      subject: d.app,
      detail: `exit ${d.code ?? d.signal} after ${d.ms} ms`,
    })),
  });
  return rows;
}

/** The poison's own row: the kills-process message when the build has the hook, then waiting for every poison to be dead. */
function poisonScenario(ctx, opts) {
  return {
    name: 'poison',
    describe: 'poison messages end as dead letters while the other orders flow',
    run: async (world, c) => {
      const hook = await crashHook(world, ctx.adminToken);
      if (hook) world.poison.push(await injectCrash(world, hook));
      else c.note('kills-process: not supported by this build (no GET /admin/fault-injection; see docs/drills.md)');
      const since = Math.min(...world.poison.map((p) => p.injectedAt));
      await c.fault('poison in the outboxes', async () => {
        const until = since + opts.poisonWaitS * 1000;
        while (Date.now() < until) {
          const dead = await deadPoison(world, world.poison).catch(() => new Map());
          c.note(`${dead.size}/${world.poison.length} poison messages dead-lettered`);
          if (dead.size === world.poison.length) break;
          await sleep(1_000);
        }
      });
      const dead = await deadPoison(world, world.poison);
      c.poisonVerdict = world.poison.map((p) => ({ ...p, dead: dead.get(p.id) }));
      c.window().start = since;
      await c.recovered();
    },
  };
}

async function runScenario(world, scenario, opts, ctx, ui, { calmS, exitsExpected = false } = {}) {
  const load = new Load({
    targets: world.ordersUrls,
    rate: opts.rate,
    customers: world.shop.customers,
    skus: world.shop.skus,
    prefix: world.shop.prefix,
    cancelShare: opts.cancelShare,
  });
  const windows = [];
  const notes = [];
  const state = { round: 0, active: null, note: '', confirmed: 0, restarts: 0 };
  const c = {
    rounds: scenario.group === 'kill' ? opts.rounds : 1,
    durations: opts.quick ? DURATIONS.quick : DURATIONS.full,
    caps: ctx.caps,
    rand: (a, b) => Math.round(a + Math.random() * (b - a)),
    pause: sleep,
    round: (n) => (state.round = n),
    note: (text) => {
      state.note = text;
      if (/not supported/.test(text)) notes.push(text);
    },
    window: () => windows.at(-1),
    async fault(label, inject, hold, remove) {
      const w = { label, start: Date.now() };
      state.active = label;
      try {
        await inject();
        await hold?.();
      } finally {
        try {
          await remove?.(); // the fault ends once this is done: the link healed, the victim back and ready
        } finally {
          w.end = Date.now();
          windows.push(w);
          state.active = null;
          state.note = '';
        }
      }
    },
    /** Waits (bounded) for the first order confirmed after the last fault ended. */
    async recovered() {
      const w = windows.at(-1);
      const until = Date.now() + opts.recoverS * 1000;
      while (Date.now() < until) {
        const at = await firstConfirmationAfter(world, w.end).catch(() => null);
        if (at) return void (w.recoveredMs = Math.max(0, at - w.end));
        await sleep(250);
      }
      w.recoveredMs = null;
    },
  };
  const started = Date.now();
  load.start();
  let ticking = false;
  const ticker = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void (async () => {
      for (const app of world.apps()) {
        if (!app.died) continue;
        state.restarts++;
        if (exitsExpected && state.restarts > MAX_POISON_RESTARTS) continue;
        await app.reviveIfDied(scenario.name).catch((e) => notes.push(`could not restart ${app.name}: ${e.message}`));
      }
      const { rows } = await world.db.main
        .query(`SELECT count(*)::int AS n FROM orders.orders WHERE status = 'CONFIRMED' AND created_at >= to_timestamp($1 / 1000.0)`, [
          started,
        ])
        .catch(() => ({ rows: [{ n: state.confirmed }] }));
      state.confirmed = rows[0].n;
      ui.progress(world.name, scenario.name, { ...state, rounds: c.rounds, ...load.stats });
    })().finally(() => (ticking = false));
  }, 1_000);

  const violations = [];
  let runMs = 0;
  try {
    const runStarted = Date.now();
    try {
      if (scenario.run) await scenario.run(world, c);
      else await sleep(calmS * 1000);
    } finally {
      runMs = Date.now() - runStarted;
    }
  } catch (error) {
    violations.push({
      invariant: 'scenario-completes',
      subject: scenario.name,
      detail: error instanceof Error ? error.message : String(error),
    });
  } finally {
    for (const shaper of Object.values(world.links)) await shaper.clear().catch(() => undefined);
    await heal(world, notes);
  }
  await sleep(1_000); // a little calm after the fault, under the same load
  ui.progress(world.name, scenario.name, { ...state, active: 'load stopping: waiting for the last answers', ...load.stats });
  await load.stop();
  clearInterval(ticker);
  while (ticking) await sleep(50);
  ui.progress(world.name, scenario.name, { ...state, active: 'settling', ...load.stats });
  const excluded = new Set(world.poison?.map((p) => p.id) ?? []);
  const settled = await settle(world, { timeoutMs: opts.settleS * 1000, excluded });
  if (!settled.settled)
    violations.push({ invariant: 'settles', subject: scenario.name, detail: `not settled within ${opts.settleS} s: ${settled.left}` });
  const accepted = load.orders.filter((o) => o.id);
  const judged = await check(world, {
    accepted,
    cancels: load.cancels.filter((x) => x.acceptedAt),
    poison: excluded,
    exitsExpected,
  });
  violations.push(...judged.violations);
  if (scenario.judgesDeadline && c.partitionMs !== undefined) {
    const verdict = partitionCancelsNothing(judged.orders, ctx.sagaDeadline, c.partitionMs);
    notes.push(verdict.note);
    violations.push(...verdict.violations);
  }
  if (judged.facts.parked.length > 0) {
    const named = judged.facts.parked
      .slice(0, 10)
      .map((o) => `${o.id} (${o.status}${o.attention?.reason ? `: ${o.attention.reason}` : ''})`)
      .join(', ');
    notes.push(
      `parked for attention (allowed, terminal for the drill): ${judged.facts.parked.length} orders: ${named}${judged.facts.parked.length > 10 ? ', …' : ''}`,
    );
  }
  for (const p of c.poisonVerdict ?? []) {
    if (!p.dead)
      violations.push({
        invariant: 'poison-dead-lettered',
        subject: `${p.kind} ${p.id}`,
        detail: `${p.type} is not a dead letter ${opts.poisonWaitS} s after it was injected`,
      });
  }
  const confirmed = await confirmationTimes(
    world,
    accepted.map((o) => o.id),
  );
  const faultLatency = latency(accepted, confirmed, windows.length ? windows : [{ start: started, end: Date.now() }]);
  if (scenario.run && windows.length > 0 && faultLatency === null && scenario.name !== 'poison') {
    notes.push('no order sent during the fault was confirmed');
  }
  const recoveries = windows.map((w) => w.recoveredMs);
  for (const w of windows) {
    if (w.recoveredMs === null)
      violations.push({
        invariant: 'recovers',
        subject: w.label,
        detail: `no order confirmed within ${opts.recoverS} s after the fault ended`,
      });
  }
  ui.done(world.name, scenario.name, violations.length === 0, Math.round((Date.now() - started) / 1000));
  return {
    topology: world.name,
    scenario: scenario.name,
    describe: scenario.describe,
    rounds: c.rounds,
    faults: windows.length,
    load: { ...load.stats, rejected: load.rejected.length, firstRejected: load.rejected.slice(0, 3) },
    facts: judged.facts,
    latency: faultLatency,
    calm: world.calm,
    recovery: { median: median(recoveries.filter((r) => r !== null)), max: Math.max(0, ...recoveries.filter((r) => r !== null)) },
    settleMs: settled.ms,
    durationS: Math.round((Date.now() - started) / 1000),
    runS: Math.round(runMs / 1000), // the scenario's own steps (all its rounds); the rest is load stop, settle and checks
    poison: c.poisonVerdict?.map((p) => ({
      kind: p.kind,
      type: p.type,
      dead: p.dead
        ? `${p.dead.module}, ${p.dead.attempts} attempts${p.kind === 'kills-process' ? `, after ${state.restarts} crashes (each restarted by the drill)` : ''}`
        : null,
    })),
    restarts: state.restarts,
    notes,
    violations,
  };
}

/** After a scenario (or a harness failure in it): whatever is down comes back, so the next scenario starts healthy. */
async function heal(world, notes) {
  const attempt = async (what, work) => work().catch((e) => notes.push(`could not restart ${what}: ${e.message}`));
  if (!world.pg.running && world.pg.embedded) await attempt('PostgreSQL', () => world.pg.start());
  if (world.redis && !world.redis.running) await attempt('Redis', () => world.redis.start());
  for (const app of world.apps()) {
    app.draining = false;
    if (app.died) await attempt(app.name, () => app.reviveIfDied('after the scenario'));
    else if (!app.running) await attempt(app.name, () => app.start());
  }
}
