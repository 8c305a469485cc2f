import { randomUUID } from 'node:crypto';
import type { MessageContract, PayloadInput, PayloadOf } from './contract';
import { HandlerRegistry, type MessageContext, MessageDispatcher } from './dispatcher';
import { type Envelope, createEnvelope } from './envelope';
import { NonRetryableError, TransportUnavailableError } from './errors';
import { InProcessTransport } from './in-process-transport';
import { FAST, Note, PaymentRequested, deferred, messagingTestDatabase, recordingLogger, waitFor } from './messaging.test-kit';
import { Outbox } from './outbox';
import { OutboxRelay, type RelayOptionsInput, longestRetrySpanMs, resolveRelayOptions, retryDelayMs } from './relay';

describe('OutboxRelay', () => {
  let registry: HandlerRegistry;
  let relays: OutboxRelay[];
  const outbox = new Outbox('alpha');
  const logger = recordingLogger();

  const t = messagingTestDatabase('relay');
  beforeEach(async () => {
    await t.alpha.query('TRUNCATE outbox, inbox');
    await t.beta.query('TRUNCATE outbox, inbox');
    registry = new HandlerRegistry();
    relays = [];
    logger.lines.length = 0;
  });
  afterEach(async () => {
    await Promise.all(relays.map((r) => r.stop()));
  });

  function relay(options: RelayOptionsInput = {}, owner?: string): OutboxRelay {
    const dispatcher = new MessageDispatcher(registry, (m) => ({ alpha: t.alpha, beta: t.beta })[m as 'alpha' | 'beta'], logger);
    const r = new OutboxRelay({
      module: 'alpha',
      dataSource: t.alpha,
      transport: new InProcessTransport(dispatcher),
      options: { ...FAST, ...options },
      owner,
      logger,
    });
    relays.push(r);
    return r;
  }
  function handle<C extends MessageContract>(
    contract: C,
    fn: (payload: PayloadOf<C>, ctx: MessageContext) => unknown,
    consumer = 'beta:Test.handle',
  ) {
    registry.add({ consumer, module: 'beta', contract, handle: fn, batchable: true });
  }
  function publish<C extends MessageContract>(
    contract: C,
    payload: PayloadInput<C>,
    options: { key: string; notBefore?: Date; id?: string },
  ): Promise<Envelope> {
    return t.alpha.transaction((em) => outbox.add(em, contract, payload, options));
  }
  const statusOf = async (id: string) =>
    (
      await t.alpha.query(`SELECT status, attempts, last_error, errors, lease_owner, lease_until FROM outbox WHERE message_id = $1`, [id])
    )[0];
  const allDispatched = async () => (await t.alpha.query(`SELECT count(*)::int AS n FROM outbox WHERE status <> 'dispatched'`))[0].n === 0;

  it('delivers a committed message to its handler and marks it dispatched', async () => {
    const seen: { payload: unknown; id: string }[] = [];
    handle(PaymentRequested, (payload, ctx) => void seen.push({ payload, id: ctx.envelope.id }));
    await relay().start();
    const orderId = randomUUID();
    const sent = await publish(PaymentRequested, { orderId, amountCents: 990 }, { key: orderId });

    await waitFor(async () => (await statusOf(sent.id)).status === 'dispatched', 'the message to be dispatched');
    expect(seen).toEqual([{ payload: { orderId, amountCents: 990 }, id: sent.id }]);
    expect(await t.beta.query('SELECT consumer, message_id FROM inbox')).toEqual([{ consumer: 'beta:Test.handle', message_id: sent.id }]);
  });

  it('marks a message with no local subscriber dispatched', async () => {
    await relay().start();
    const sent = await publish(Note, { n: 1 }, { key: 'k' });
    await waitFor(async () => (await statusOf(sent.id)).status === 'dispatched', 'the message to be dispatched');
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
    const k1 = await publish(Note, { n: 1 }, { key: 'K' });
    await publish(Note, { n: 2 }, { key: 'K' });
    await publish(Note, { n: 3 }, { key: 'L' });
    await relay({ retry: { baseMs: 5, capMs: 10, maxAttempts: 50 } }).start();

    await waitFor(allDispatched, 'every message to be dispatched');
    const handled = events.filter((e) => e !== 'K1 failed');
    expect(handled.indexOf('K1')).toBeLessThan(handled.indexOf('K2'));
    expect(events.indexOf('L1')).toBeLessThan(events.indexOf('K1')); // L went on while K1 was being retried
    expect(k1Failures).toBeGreaterThanOrEqual(2);
    expect((await statusOf(k1.id)).attempts).toBe(k1Failures);
  });

  it('keeps many messages of one key in commit order', async () => {
    const order: number[] = [];
    handle(Note, (p) => void order.push(p.n));
    for (let n = 0; n < 120; n++) await publish(Note, { n }, { key: 'one-key' });
    await relay({ batchSize: 25 }).start();
    await waitFor(allDispatched, 'every message to be dispatched');
    expect(order).toEqual([...Array(120).keys()]);
  });

  it('sends a batch in one consumer transaction; a failing message is retried alone and holds back only its key', async () => {
    const calls = new Map<number, number>();
    handle(Note, (p) => {
      calls.set(p.n, (calls.get(p.n) ?? 0) + 1);
      if (p.n === 3 && calls.get(3) === 1) throw new Error('flaky');
    });
    const sent: Envelope[] = [];
    for (const [n, key] of [
      [1, 'A'],
      [2, 'B'],
      [3, 'C'],
      [4, 'C'],
      [5, 'D'],
      [6, 'E'],
    ] as const)
      sent.push(await publish(Note, { n }, { key }));
    const once = relay({ concurrency: 1, deliveryBatchSize: 50, retry: { baseMs: 1, capMs: 1, maxAttempts: 5 } });

    expect(await once.runOnce()).toBe(6);
    const status = async () => Promise.all(sent.map(async (e) => (await statusOf(e.id)).status));
    expect(await status()).toEqual(['dispatched', 'dispatched', 'pending', 'pending', 'dispatched', 'dispatched']);
    expect(await statusOf(sent[2].id)).toMatchObject({ attempts: 1, last_error: 'Error: flaky', lease_owner: null });
    expect(await statusOf(sent[3].id)).toMatchObject({ attempts: 0, lease_owner: null }); // held back, not tried
    expect(calls.get(3)).toBe(1); // named by the batch failure: not sent again just to find it
    expect(calls.get(4)).toBeUndefined(); // after the failure in the batch transaction
    expect((await t.beta.query(`SELECT count(*)::int AS n FROM inbox`))[0].n).toBe(4);

    await waitFor(async () => (await once.runOnce()) === 0 && (await allDispatched()), 'the retried key to be delivered');
    expect(calls.get(3)).toBe(2);
    expect(calls.get(4)).toBe(1);
  });

  it('does not deliver a delayed message before notBefore, and does not let it block its key', async () => {
    const handledAt = new Map<number, number>();
    handle(Note, (p) => void handledAt.set(p.n, Date.now()));
    await relay().start();
    const notBefore = new Date(Date.now() + 400);
    const delayed = await publish(Note, { n: 1 }, { key: 'K', notBefore });
    const after = await publish(Note, { n: 2 }, { key: 'K' });

    await waitFor(async () => (await statusOf(after.id)).status === 'dispatched', 'the later, undelayed message');
    if (Date.now() < notBefore.getTime()) expect(handledAt.has(1)).toBe(false);
    await waitFor(async () => (await statusOf(delayed.id)).status === 'dispatched', 'the delayed message');
    expect(handledAt.get(1)!).toBeGreaterThanOrEqual(notBefore.getTime() - 5); // same host clock; 5 ms for rounding
    expect(handledAt.get(2)!).toBeLessThan(handledAt.get(1)!);
  });

  it('retries with backoff, recording each failure, then succeeds', async () => {
    let calls = 0;
    handle(Note, () => {
      if (++calls <= 2) throw new Error(`gateway timeout #${calls}`);
    });
    await relay().start();
    const sent = await publish(Note, { n: 1 }, { key: 'K' });
    await waitFor(async () => (await statusOf(sent.id)).status === 'dispatched', 'the message to be dispatched');
    const row = await statusOf(sent.id);
    expect(calls).toBe(3);
    expect(row.attempts).toBe(2);
    expect(row.errors.map((e: { attempt: number; error: string }) => [e.attempt, e.error])).toEqual([
      [1, 'Error: gateway timeout #1'],
      [2, 'Error: gateway timeout #2'],
    ]);
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
    const doomed = await publish(Note, { n: 1 }, { key: 'K' });
    await publish(Note, { n: 2 }, { key: 'K' });
    await relay({ retry: { baseMs: 1, capMs: 5, maxAttempts: 3 } }).start();

    await waitFor(async () => (await statusOf(doomed.id)).status === 'dead', 'the dead letter');
    await waitFor(() => after.includes(2), 'the next message of the key');
    const row = await statusOf(doomed.id);
    expect(calls).toBe(3);
    expect(row).toMatchObject({ attempts: 3, last_error: 'Error: always broken', lease_owner: null });
    expect(row.errors).toHaveLength(3);
    expect(logger.lines.some((l) => l.startsWith('warn: Dead-lettered alpha.note.v1'))).toBe(true);
  });

  it('keeps messages pending, in order and without counting attempts, while the transport is unavailable', async () => {
    let down = true;
    let tries = 0;
    const delivered: number[] = [];
    handle(Note, (p) => void delivered.push(p.n));
    const dispatcher = new MessageDispatcher(registry, () => t.beta, logger);
    const broker = {
      async send(envelopes: readonly Envelope[]) {
        tries++;
        if (down) throw new TransportUnavailableError('the broker is down');
        await dispatcher.deliverBatch(envelopes);
      },
    };
    const r = new OutboxRelay({
      module: 'alpha',
      dataSource: t.alpha,
      transport: broker,
      options: { ...FAST, retry: { baseMs: 1, capMs: 5, maxAttempts: 2 } },
      logger,
    });
    relays.push(r);
    const first = await publish(Note, { n: 1 }, { key: 'K' });
    await publish(Note, { n: 2 }, { key: 'K' });
    await r.start();
    await waitFor(() => tries >= 10, 'many tries while the broker is down'); // far more than maxAttempts
    const row = await statusOf(first.id);
    expect(row).toMatchObject({ status: 'pending', attempts: 0, last_error: 'TransportUnavailableError: the broker is down' });
    expect(delivered).toEqual([]);
    down = false;
    await waitFor(allDispatched, 'delivery once the broker is back');
    expect(delivered).toEqual([1, 2]);
    expect((await statusOf(first.id)).attempts).toBe(0);
  });

  it('dead-letters a NonRetryableError at once', async () => {
    let calls = 0;
    handle(Note, () => {
      calls++;
      throw new NonRetryableError('order 42 does not exist');
    });
    await relay().start();
    const sent = await publish(Note, { n: 1 }, { key: 'K' });
    await waitFor(async () => (await statusOf(sent.id)).status === 'dead', 'the dead letter');
    expect(calls).toBe(1);
    expect((await statusOf(sent.id)).attempts).toBe(1);
  });

  it('dead-letters poison (invalid payload, malformed envelope) at once and keeps going', async () => {
    let calls = 0;
    handle(PaymentRequested, () => void calls++);
    const insertRaw = (id: string, type: string, envelope: unknown) =>
      t.alpha.query(`INSERT INTO outbox (message_id, type, key, envelope) VALUES ($1, $2, 'K', $3)`, [id, type, JSON.stringify(envelope)]);
    const bad = createEnvelope('alpha', PaymentRequested.type, { orderId: 'not-a-uuid', amountCents: 'lots' }, { key: 'K' });
    await insertRaw(bad.id, bad.type, bad);
    const garbageId = randomUUID();
    await insertRaw(garbageId, 'who.knows', { hello: 'world' });
    await relay().start();
    const orderId = randomUUID();
    const good = await publish(PaymentRequested, { orderId, amountCents: 5 }, { key: 'K' });

    await waitFor(async () => (await statusOf(good.id)).status === 'dispatched', 'the good message after the poison');
    expect(await statusOf(bad.id)).toMatchObject({ status: 'dead', attempts: 1 });
    expect((await statusOf(bad.id)).last_error).toMatch(/InvalidMessageError: .*orderId.*amountCents/);
    expect(await statusOf(garbageId)).toMatchObject({ status: 'dead', attempts: 1 });
    expect((await statusOf(garbageId)).last_error).toMatch(/malformed envelope/);
    expect(calls).toBe(1);
  });

  it('two relays racing over one outbox deliver every message, each applied once, in order per key', async () => {
    const applied = new Map<string, number>();
    const order = new Map<string, number[]>();
    handle(Note, (p, ctx) => {
      applied.set(ctx.envelope.id, (applied.get(ctx.envelope.id) ?? 0) + 1);
      order.set(ctx.envelope.key, [...(order.get(ctx.envelope.key) ?? []), p.n]);
    });
    const ids: string[] = [];
    await t.alpha.transaction(async (em) => {
      for (let n = 0; n < 400; n++) ids.push((await outbox.add(em, Note, { n }, { key: `key-${n % 25}` })).id);
    });
    const a = relay({ batchSize: 7, concurrency: 4 }, randomUUID());
    const b = relay({ batchSize: 7, concurrency: 4 }, randomUUID());
    await Promise.all([a.start(), b.start()]);

    await waitFor(allDispatched, 'every message to be dispatched', 30_000);
    expect(ids.every((id) => applied.get(id) === 1)).toBe(true);
    expect((await t.beta.query(`SELECT count(*)::int AS n FROM inbox`))[0].n).toBe(400);
    for (const ns of order.values()) {
      expect(ns).toHaveLength(16);
      expect(ns).toEqual([...ns].sort((x, y) => x - y));
    }
    const owners = await t.alpha.query(`SELECT DISTINCT lease_owner FROM outbox`);
    expect(owners.map((o: { lease_owner: string }) => o.lease_owner).sort()).toEqual([a.owner, b.owner].sort());
  });

  it('fences writes: a relay whose lease was taken over cannot mark the message', async () => {
    await publish(Note, { n: 1 }, { key: 'K' });
    const slow = relay({}, randomUUID());
    const fast = relay({}, randomUUID());
    const [mine] = await slow.claim();
    expect(await fast.claim()).toEqual([]); // leased: nobody else may take it
    await t.alpha.query(`UPDATE outbox SET lease_until = now() - interval '1 second'`); // the slow relay's lease runs out
    const [stolen] = await fast.claim();
    expect(stolen.seq).toBe(mine.seq);

    expect(await slow.markDispatched([mine.seq])).toBe(0);
    await slow.release([mine.seq]);
    expect(await statusOf(mine.messageId)).toMatchObject({ status: 'pending', lease_owner: fast.owner });
    expect(await fast.markDispatched([stolen.seq])).toBe(1);
    expect((await statusOf(mine.messageId)).status).toBe('dispatched');
  });

  it('drains on stop: finishes the delivery in flight, releases the rest, and another instance takes over at once', async () => {
    const gate = deferred();
    const handled: number[] = [];
    handle(Note, async (p) => {
      if (p.n === 1) await gate.promise;
      handled.push(p.n);
    });
    const first = await publish(Note, { n: 1 }, { key: 'K' });
    const second = await publish(Note, { n: 2 }, { key: 'K' });
    const leaving = relay({ deliveryBatchSize: 1 }); // one message per send: the second is not in flight when stop() comes
    await leaving.start();
    await waitFor(async () => (await statusOf(second.id)).lease_owner === leaving.owner, 'both messages to be claimed');

    let stopped = false;
    const stopping = leaving.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false); // waits for the delivery in flight
    gate.resolve();
    await stopping;

    expect(handled).toEqual([1]);
    expect((await statusOf(first.id)).status).toBe('dispatched');
    expect(await statusOf(second.id)).toMatchObject({ status: 'pending', lease_owner: null, lease_until: null });
    const successor = relay();
    expect(await successor.runOnce()).toBe(1);
    expect(handled).toEqual([1, 2]);
  });

  it('prunes dispatched outbox rows and inbox rows older than their windows, in batches', async () => {
    await t.alpha.transaction(async (em) => {
      for (let n = 0; n < 5; n++) await outbox.add(em, Note, { n }, { key: 'K' });
    });
    await t.alpha.query(
      `UPDATE outbox SET status = 'dispatched', dispatched_at = now() - interval '2 hours' WHERE (envelope->'payload'->>'n')::int < 3`,
    );
    await t.alpha.query(`UPDATE outbox SET status = 'dispatched', dispatched_at = now() WHERE (envelope->'payload'->>'n')::int = 3`);
    for (let i = 0; i < 3; i++)
      await t.alpha.query(`INSERT INTO inbox (consumer, message_id, processed_at) VALUES ('alpha:X.y', $1, now() - interval '8 days')`, [
        randomUUID(),
      ]);
    await t.alpha.query(`INSERT INTO inbox (consumer, message_id) VALUES ('alpha:X.y', $1)`, [randomUUID()]);

    const removed = await relay({ pruneBatchSize: 2 }).prune();
    expect(removed).toEqual({ outbox: 3, inbox: 3 });
    expect(await t.alpha.query(`SELECT status, count(*)::int AS n FROM outbox GROUP BY status ORDER BY status`)).toEqual([
      { status: 'dispatched', n: 1 },
      { status: 'pending', n: 1 },
    ]);
    expect((await t.alpha.query(`SELECT count(*)::int AS n FROM inbox`))[0].n).toBe(1);
  });
});
