import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { MessageContract, PayloadInput, PayloadOf } from './contract';
import { type Envelope, createEnvelope } from './envelope';
import { NonRetryableError, TransportUnavailableError } from './errors';
import { HandlerRegistry, type MessageContext } from './handlers';
import { MessagingStack, Note, PaymentRequested, deferred, messagingTestDatabase, recordingLogger, waitFor } from '../messaging.test-kit';
import type { OutboxAddOptions } from './outbox';
import { OWNER_LOCK_SPACE } from './presence';
import { longestRetrySpanMs, resolveRelayOptions, retryDelayMs } from './relay-options';
import type { RelayOptionsInput } from './relay-options';
import type { MessageTransport } from '../transports/transport';

describe('OutboxRelay', () => {
  let registry: HandlerRegistry;
  let stacks: MessagingStack[];
  const logger = recordingLogger();

  const t = messagingTestDatabase('relay');
  beforeEach(async () => {
    await t.alpha.query('DELETE FROM outbox');
    await t.alpha.query('DELETE FROM inbox');
    await t.beta.query('DELETE FROM outbox');
    await t.beta.query('DELETE FROM inbox');
    registry = new HandlerRegistry();
    stacks = [];
    logger.lines.length = 0;
  });
  afterEach(async () => {
    for (const s of stacks) await s.stop();
  });

  /** The messaging of one process (its own presence, gate and relays). */
  function stack(options: { relay?: RelayOptionsInput; transport?: (s: MessagingStack) => MessageTransport; slots?: number } = {}) {
    const s = new MessagingStack({ alpha: t.alpha, beta: t.beta }, registry, { relay: options.relay, logger, slots: options.slots });
    if (options.transport) (s as { transport: MessageTransport }).transport = options.transport(s);
    stacks.push(s);
    return s;
  }
  function handle<C extends MessageContract>(
    contract: C,
    fn: (payload: PayloadOf<C>, ctx: MessageContext) => unknown,
    consumer = 'beta:Test.handle',
  ) {
    registry.add({ consumer, module: 'beta', contract, handle: fn });
  }
  function publish<C extends MessageContract>(
    s: MessagingStack | undefined,
    contract: C,
    payload: PayloadInput<C>,
    options: OutboxAddOptions,
  ): Promise<Envelope> {
    const outbox = s?.outboxes.alpha ?? stack().outboxes.alpha;
    return t.alpha.transaction((tx) => outbox.add(tx, contract, payload, options));
  }
  const rowOf = async (id: string) =>
    (
      await t.alpha.query<Record<string, any>>(
        `SELECT status, attempts, claims, solo_runs, last_error, errors, lease_owner, lease_until, available_at FROM outbox WHERE message_id = $1`,
        [id],
      )
    )[0];
  const gone = async (id: string) => (await rowOf(id)) === undefined;
  const outboxEmpty = async () => (await t.alpha.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox`))[0].n === 0;
  /** Rows as a crashed producer (or another process) leaves them: committed, unleased, not handed to anyone. */
  const insertRaw = (envelope: Envelope, extra: Partial<{ leaseOwner: string; claims: number; soloRuns: number }> = {}) =>
    t.alpha.query(
      `INSERT INTO outbox (message_id, type, key, envelope, lease_owner, lease_until, claims, solo_runs)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $5::uuid IS NULL THEN NULL ELSE now() + interval '1 hour' END, $6, $7)`,
      [
        envelope.id,
        envelope.type,
        envelope.key,
        JSON.stringify(envelope),
        extra.leaseOwner ?? null,
        extra.claims ?? 0,
        extra.soloRuns ?? 0,
      ],
    );
  const note = (n: number, key: string) => createEnvelope('alpha', Note.type, { n }, { key });

  it('hands a committed message to its handler right after the commit, then deletes it', async () => {
    const seen: { payload: unknown; id: string }[] = [];
    handle(PaymentRequested, (payload, ctx) => void seen.push({ payload, id: ctx.envelope.id }));
    // A poll far away: only the hand-off can deliver within the test.
    const s = await stack({ relay: { pollIntervalMs: 60_000 } }).start('alpha');
    const orderId = randomUUID();
    const sent = await publish(s, PaymentRequested, { orderId, amountCents: 990 }, { key: orderId });

    await waitFor(() => gone(sent.id), 'the delivered message to be deleted', 5_000);
    expect(seen).toEqual([{ payload: { orderId, amountCents: 990 }, id: sent.id }]);
    expect(await t.beta.query('SELECT consumer, message_id FROM inbox')).toEqual([{ consumer: 'beta:Test.handle', message_id: sent.id }]);
  });

  it('does not store a message that nobody consumes', async () => {
    const s = await stack().start('alpha');
    await publish(s, Note, { n: 1 }, { key: 'k' });
    expect(await outboxEmpty()).toBe(true);
  });

  it('keeps order per key under retries without holding up other keys', async () => {
    const events: string[] = [];
    let k1Failures = 0;
    handle(Note, (p) => {
      if (p.n === 1 && (k1Failures < 2 || !events.includes('L1'))) {
        k1Failures++;
        events.push('K1 failed');
        throw new Error('transient');
      }
      events.push(p.n === 1 ? 'K1' : p.n === 2 ? 'K2' : 'L1');
    });
    const s = await stack({ relay: { retry: { baseMs: 5, capMs: 10, maxAttempts: 50 } } }).start('alpha');
    const k1 = await publish(s, Note, { n: 1 }, { key: 'K' });
    await publish(s, Note, { n: 2 }, { key: 'K' });
    await publish(s, Note, { n: 3 }, { key: 'L' });

    await waitFor(outboxEmpty, 'every message to be delivered');
    const handled = events.filter((e) => e !== 'K1 failed');
    expect(handled.indexOf('K1')).toBeLessThan(handled.indexOf('K2'));
    expect(events.indexOf('L1')).toBeLessThan(events.indexOf('K1')); // L went on while K1 was being retried
    expect(k1Failures).toBeGreaterThanOrEqual(2);
    expect(k1.id).toBeDefined();
  });

  it('keeps many messages of one key in commit order, handed off or claimed', async () => {
    const order: number[] = [];
    handle(Note, (p) => void order.push(p.n));
    const s = stack({ relay: { batchSize: 25 } });
    for (let n = 0; n < 60; n++) await publish(s, Note, { n }, { key: 'one-key' }); // before the relay runs: claimed
    await s.start('alpha');
    for (let n = 60; n < 120; n++) await publish(s, Note, { n }, { key: 'one-key' }); // while it runs: handed off or claimed
    await waitFor(outboxEmpty, 'every message to be delivered');
    expect(order).toEqual([...Array(120).keys()]);
  });

  it('works through a backlog larger than its batch without waiting for the poll interval', async () => {
    const delivered = new Set<number>();
    handle(Note, (p) => void delivered.add(p.n));
    // Distinct keys: no delivery has a successor of its key to wake the relay; only the backlog itself can.
    for (let n = 0; n < 150; n++) await insertRaw(note(n, `backlog-${n}`));
    await stack({ relay: { batchSize: 20, pollIntervalMs: 60_000 } }).start('alpha');
    await waitFor(outboxEmpty, 'the whole backlog to be delivered before the next poll (60 s)', 30_000);
    expect(delivered.size).toBe(150);
  });

  it('a failing message is retried and holds back only its key; the rest of the key waits for it', async () => {
    const calls = new Map<number, number>();
    handle(Note, (p) => {
      calls.set(p.n, (calls.get(p.n) ?? 0) + 1);
      if (p.n === 3 && calls.get(3) === 1) throw new Error('flaky');
    });
    const keys = ['A', 'B', 'C', 'C', 'D', 'E'];
    const sent = keys.map((key, i) => note(i + 1, key));
    for (const e of sent) await insertRaw(e);
    const once = stack({ relay: { retry: { baseMs: 1, capMs: 1, maxAttempts: 5 } } }).relay('alpha');

    expect(await once.runOnce()).toBe(6);
    expect(await Promise.all(sent.map((e) => gone(e.id)))).toEqual([true, true, false, false, true, true]);
    expect(await rowOf(sent[2].id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'Error: flaky', lease_owner: null });
    expect(await rowOf(sent[3].id)).toMatchObject({ attempts: 0, claims: 0, lease_owner: null }); // held back, never tried
    expect(calls.get(4)).toBeUndefined();

    await waitFor(async () => (await once.runOnce()) === 0 && (await outboxEmpty()), 'the retried key to be delivered');
    expect(calls.get(3)).toBe(2);
    expect(calls.get(4)).toBe(1);
  });

  it('does not deliver a delayed message before notBefore, and does not let it block its key', async () => {
    const handledAt = new Map<number, number>();
    handle(Note, (p) => void handledAt.set(p.n, Date.now()));
    const s = await stack().start('alpha');
    const notBefore = new Date(Date.now() + 400);
    const delayed = await publish(s, Note, { n: 1 }, { key: 'K', notBefore });
    const after = await publish(s, Note, { n: 2 }, { key: 'K' });

    await waitFor(() => gone(after.id), 'the later, undelayed message');
    if (Date.now() < notBefore.getTime()) expect(handledAt.has(1)).toBe(false);
    await waitFor(() => gone(delayed.id), 'the delayed message');
    expect(handledAt.get(1)!).toBeGreaterThanOrEqual(notBefore.getTime() - 5); // same host clock; 5 ms for rounding
    expect(handledAt.get(2)!).toBeLessThan(handledAt.get(1)!);
  });

  it('starts a timer only once the message it waits for is handed over, not while the transport is down', async () => {
    let down = true;
    const delivered: { n: number; at: number }[] = [];
    handle(Note, (p) => void delivered.push({ n: p.n, at: Date.now() }));
    const s = stack({
      transport: (st) => ({
        carries: () => true,
        deliver: async (e) => {
          if (down && (e.payload as { n: number }).n === 1) throw new TransportUnavailableError('the broker is down');
          await st.dispatcher.deliver(e);
        },
      }),
    });
    await s.start('alpha');
    await t.alpha.transaction(async (tx) => {
      const command = await s.outboxes.alpha.add(tx, Note, { n: 1 }, { key: 'order-1' });
      await s.outboxes.alpha.add(tx, Note, { n: 2 }, { key: 'order-1:deadline', startsAfter: command.id, delayMs: 100 });
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(delivered).toEqual([]); // the command waits for the broker, so its deadline has not started
    const timer = (
      await t.alpha.query<{ status: string; available_at: unknown }>(
        `SELECT status, available_at FROM outbox WHERE key = 'order-1:deadline'`,
      )
    )[0];
    expect(timer).toEqual({ status: 'scheduled', available_at: Infinity });
    down = false;
    const back = Date.now();
    await waitFor(() => delivered.length === 2, 'the command, then its deadline');
    expect(delivered.map((d) => d.n)).toEqual([1, 2]);
    expect(delivered[1].at - delivered[0].at).toBeGreaterThanOrEqual(90);
    expect(delivered[0].at).toBeGreaterThanOrEqual(back);
  });

  it('retries with backoff, recording each failure, then succeeds', async () => {
    let calls = 0;
    handle(Note, () => {
      if (++calls <= 2) throw new Error(`gateway timeout #${calls}`);
    });
    const s = await stack().start('alpha');
    const sent = await publish(s, Note, { n: 1 }, { key: 'K' });
    await waitFor(async () => (await rowOf(sent.id))?.attempts === 2, 'two recorded failures');
    const row = await rowOf(sent.id);
    expect(row.errors.map((e: { attempt: number; error: string }) => [e.attempt, e.error])).toEqual([
      [1, 'Error: gateway timeout #1'],
      [2, 'Error: gateway timeout #2'],
    ]);
    await waitFor(() => gone(sent.id), 'the message to be delivered');
    expect(calls).toBe(3);
  });

  it('computes full-jitter delays within [0, min(cap, base * 2^(attempt-1))]', () => {
    const retry = { baseMs: 100, capMs: 1_000 };
    for (const [attempt, ceiling] of [
      [1, 100],
      [2, 200],
      [4, 800],
      [5, 1_000],
      [30, 1_000],
    ]) {
      const delays = Array.from({ length: 200 }, () => retryDelayMs(attempt, retry));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
      expect(Math.max(...delays)).toBeGreaterThan(ceiling / 2); // spread over the interval, not fixed
    }
  });

  it('refuses an inbox window shorter than the longest retry span', () => {
    expect(() => resolveRelayOptions({ inboxRetentionMs: 60_000 })).toThrow(/inboxRetentionMs.*longest retry span/);
    expect(longestRetrySpanMs(resolveRelayOptions())).toBeLessThan(resolveRelayOptions().inboxRetentionMs);
  });

  it('dead-letters after maxAttempts and stops blocking the key', async () => {
    let calls = 0;
    const after: number[] = [];
    handle(Note, (p) => {
      if (p.n === 1) {
        calls++;
        throw new Error('always broken');
      }
      after.push(p.n);
    });
    const s = await stack({ relay: { retry: { baseMs: 1, capMs: 5, maxAttempts: 3 } } }).start('alpha');
    const doomed = await publish(s, Note, { n: 1 }, { key: 'K' });
    await publish(s, Note, { n: 2 }, { key: 'K' });

    await waitFor(async () => (await rowOf(doomed.id))?.status === 'dead', 'the dead letter');
    await waitFor(() => after.includes(2), 'the next message of the key');
    expect(calls).toBe(3);
    expect(await rowOf(doomed.id)).toMatchObject({ attempts: 3, last_error: 'Error: always broken', lease_owner: null });
    expect((await rowOf(doomed.id)).errors).toHaveLength(3);
    expect(logger.lines.some((l) => l.startsWith('warn: Dead-lettered alpha.note.v1'))).toBe(true);
  });

  it('keeps messages pending, in order and without counting attempts, while the transport is unavailable', async () => {
    let down = true;
    let tries = 0;
    const delivered: number[] = [];
    handle(Note, (p) => void delivered.push(p.n));
    const s = stack({
      relay: { retry: { baseMs: 1, capMs: 5, maxAttempts: 2 } },
      transport: (st) => ({
        carries: () => true,
        deliver: async (e) => {
          tries++;
          if (down) throw new TransportUnavailableError('the broker is down');
          await st.dispatcher.deliver(e);
        },
      }),
    });
    await s.start('alpha');
    const first = await publish(s, Note, { n: 1 }, { key: 'K' });
    await publish(s, Note, { n: 2 }, { key: 'K' });
    await waitFor(() => tries >= 10, 'many tries while the broker is down'); // far more than maxAttempts
    expect(await rowOf(first.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      last_error: 'TransportUnavailableError: the broker is down',
    });
    expect(delivered).toEqual([]);
    down = false;
    await waitFor(outboxEmpty, 'delivery once the broker is back');
    expect(delivered).toEqual([1, 2]);
  });

  it('dead-letters a NonRetryableError at once', async () => {
    let calls = 0;
    handle(Note, () => {
      calls++;
      throw new NonRetryableError('order 42 does not exist');
    });
    const s = await stack().start('alpha');
    const sent = await publish(s, Note, { n: 1 }, { key: 'K' });
    await waitFor(async () => (await rowOf(sent.id))?.status === 'dead', 'the dead letter');
    expect(calls).toBe(1);
    expect((await rowOf(sent.id)).attempts).toBe(1);
  });

  it('dead-letters poison (invalid payload, malformed envelope) at once and keeps going', async () => {
    let calls = 0;
    handle(PaymentRequested, () => void calls++);
    const bad = createEnvelope('alpha', PaymentRequested.type, { orderId: 'not-a-uuid', amountCents: 'lots' }, { key: 'K' });
    await insertRaw(bad);
    const garbageId = randomUUID();
    await t.alpha.query(`INSERT INTO outbox (message_id, type, key, envelope) VALUES ($1, 'who.knows', 'K', '{"hello":"world"}')`, [
      garbageId,
    ]);
    const s = await stack().start('alpha');
    const orderId = randomUUID();
    const good = await publish(s, PaymentRequested, { orderId, amountCents: 5 }, { key: 'K' });

    await waitFor(() => gone(good.id), 'the good message after the poison');
    expect(await rowOf(bad.id)).toMatchObject({ status: 'dead', attempts: 1 });
    expect((await rowOf(bad.id)).last_error).toMatch(/InvalidMessageError: .*orderId.*amountCents/);
    expect(await rowOf(garbageId)).toMatchObject({ status: 'dead', attempts: 1 });
    expect((await rowOf(garbageId)).last_error).toMatch(/malformed envelope/);
    expect(calls).toBe(1);
  });

  it('two processes racing over one outbox deliver every message, each applied once, in order per key', async () => {
    const applied = new Map<string, number>();
    const order = new Map<string, number[]>();
    handle(Note, (p, ctx) => {
      applied.set(ctx.envelope.id, (applied.get(ctx.envelope.id) ?? 0) + 1);
      order.set(ctx.envelope.key, [...(order.get(ctx.envelope.key) ?? []), p.n]);
    });
    const ids: string[] = [];
    for (let n = 0; n < 400; n++) {
      const e = note(n, `key-${n % 25}`);
      ids.push(e.id);
      await insertRaw(e);
    }
    const a = stack({ relay: { batchSize: 7 }, slots: 4 });
    const b = stack({ relay: { batchSize: 7 }, slots: 4 });
    await Promise.all([a.start('alpha'), b.start('alpha')]);

    await waitFor(outboxEmpty, 'every message to be delivered', 30_000);
    expect(ids.every((id) => applied.get(id) === 1)).toBe(true);
    expect((await t.beta.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox`))[0].n).toBe(400);
    for (const ns of order.values()) {
      expect(ns).toHaveLength(16);
      expect(ns).toEqual([...ns].sort((x, y) => x - y));
    }
  });

  it('hands off nothing behind an older message of the key that another process holds: both go in order', async () => {
    const order: number[] = [];
    handle(Note, (p) => void order.push(p.n));
    const other = new Client({ connectionString: t.db.url });
    await other.connect();
    const otherOwner = randomUUID();
    try {
      await other.query(`SELECT pg_advisory_lock($1, hashtext($2))`, [OWNER_LOCK_SPACE, otherOwner]); // alive
      await insertRaw(note(1, 'K'), { leaseOwner: otherOwner, claims: 1 });
      const s = await stack().start('alpha');
      const second = await publish(s, Note, { n: 2 }, { key: 'K' });
      expect(await rowOf(second.id)).toMatchObject({ status: 'pending', lease_owner: null }); // not leased to us: it must wait
      await new Promise((r) => setTimeout(r, 200));
      expect(order).toEqual([]);
      await other.end(); // the other process dies: its presence lock goes with its connection
      await waitFor(outboxEmpty, 'both messages, once the other process is gone');
      expect(order).toEqual([1, 2]);
    } finally {
      await other.end().catch(() => undefined);
    }
  });

  it("takes over a dead process's leases at once, long before they run out", async () => {
    const delivered: number[] = [];
    handle(Note, (p) => void delivered.push(p.n));
    await insertRaw(note(1, 'K'), { leaseOwner: randomUUID(), claims: 0 }); // leased for an hour to nobody alive
    const started = Date.now();
    await stack().start('alpha');
    await waitFor(outboxEmpty, 'the orphaned message');
    expect(delivered).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('delivers a message claimed again and again without an outcome alone, with nothing else in flight', async () => {
    const busyDuring = new Map<number, number>();
    const s = stack({ slots: 8, relay: { suspectAfterUptimeMs: 0 } });
    handle(Note, async (p) => {
      busyDuring.set(p.n, s.gate.busy);
      await new Promise((r) => setTimeout(r, 30));
    });
    const suspect = note(0, 'S');
    await insertRaw(suspect, { claims: 2 }); // two claims, no recorded attempt: the process died twice with it in hand
    for (let n = 1; n <= 6; n++) await insertRaw(note(n, `K${n}`));
    await s.start('alpha');
    await waitFor(outboxEmpty, 'every message');
    expect(busyDuring.get(0)).toBe(1); // alone
    expect([...busyDuring.values()].some((b) => b > 1)).toBe(true); // the others ran side by side
    expect(logger.lines.some((l) => l.includes(`Delivering alpha.note.v1 ${suspect.id} (key S) alone`))).toBe(true);
  });

  it('dead-letters a suspect that the process already died of while it ran alone, without running it again', async () => {
    let calls = 0;
    handle(Note, () => void calls++);
    const killer = note(1, 'K');
    await insertRaw(killer, { claims: 4, soloRuns: 2 });
    await insertRaw(note(2, 'K'));
    const s = await stack({ relay: { suspectAfterUptimeMs: 0 } }).start('alpha');
    await waitFor(async () => (await rowOf(killer.id))?.status === 'dead', 'the dead letter');
    expect((await rowOf(killer.id)).last_error).toMatch(/process died while applying alpha\.note\.v1 .* alone, 2 time\(s\)/);
    await waitFor(() => calls === 1, 'the next message of its key');
    expect(s).toBeDefined();
  });

  it('runs a suspect alone only once the relay has lived suspectAfterUptimeMs; the other keys do not wait', async () => {
    const ran: { n: number; at: number }[] = [];
    handle(Note, (p) => void ran.push({ n: p.n, at: Date.now() }));
    const suspect = note(0, 'S');
    await insertRaw(suspect, { claims: 3, soloRuns: 1 });
    await insertRaw(note(1, 'other'));
    const started = Date.now();
    const s = await stack({ relay: { suspectAfterUptimeMs: 1_500 } }).start('alpha');
    await waitFor(outboxEmpty, 'both messages');
    expect(ran.find((r) => r.n === 1)!.at - started).toBeLessThan(1_500); // the others do not wait
    expect(ran.find((r) => r.n === 0)!.at - started).toBeGreaterThanOrEqual(1_500);
    expect(s).toBeDefined();
  });

  it('fences writes: a relay whose lease was taken over cannot delete the message', async () => {
    const gate = deferred();
    let started = false;
    handle(Note, () => ((started = true), gate.promise));
    const s = await stack().start('alpha');
    const sent = await publish(s, Note, { n: 1 }, { key: 'K' });
    await waitFor(() => started, 'the delivery to start');
    const newOwner = randomUUID();
    const other = new Client({ connectionString: t.db.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock($1, hashtext($2))`, [OWNER_LOCK_SPACE, newOwner]); // a live process took it over
      await t.alpha.query(`UPDATE outbox SET lease_owner = $1 WHERE message_id = $2`, [newOwner, sent.id]);
      gate.resolve();
      await waitFor(() => logger.lines.some((l) => l.includes('Lost the lease of 1 delivered message')), 'the lost lease to be noticed');
      expect(await rowOf(sent.id)).toMatchObject({ status: 'pending', lease_owner: newOwner });
    } finally {
      await other.end();
    }
  });

  it('drains on stop: finishes the delivery in flight, releases the rest uncounted, and another process takes over at once', async () => {
    const gate = deferred();
    const handled: number[] = [];
    handle(Note, async (p) => {
      if (p.n === 1) await gate.promise;
      handled.push(p.n);
    });
    const leaving = await stack().start('alpha');
    const first = await publish(leaving, Note, { n: 1 }, { key: 'K' });
    const second = await publish(leaving, Note, { n: 2 }, { key: 'K' });
    await waitFor(async () => (await rowOf(second.id))?.lease_owner === leaving.presence.owner, 'both messages in hand');

    let stopped = false;
    const stopping = leaving.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false); // waits for the delivery in flight
    gate.resolve();
    await stopping;

    expect(handled).toEqual([1]);
    expect(await gone(first.id)).toBe(true);
    expect(await rowOf(second.id)).toMatchObject({ status: 'pending', lease_owner: null, lease_until: null, claims: 0 });
    const successor = stack().relay('alpha');
    expect(await successor.runOnce()).toBe(1);
    expect(handled).toEqual([1, 2]);
  });

  it('prunes inbox rows older than their window, in batches', async () => {
    for (let i = 0; i < 3; i++)
      await t.alpha.query(`INSERT INTO inbox (consumer, message_id, processed_at) VALUES ('alpha:X.y', $1, now() - interval '8 days')`, [
        randomUUID(),
      ]);
    await t.alpha.query(`INSERT INTO inbox (consumer, message_id) VALUES ('alpha:X.y', $1)`, [randomUUID()]);
    const relay = stack({ relay: { pruneBatchSize: 2 } }).relay('alpha');
    await relay.start();
    expect(await relay.prune()).toEqual({ inbox: 3 });
    expect((await t.alpha.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox`))[0].n).toBe(1);
  });
});
