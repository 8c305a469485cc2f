import { Logger } from '@nestjs/common';
import { type Job, Queue, type Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { lastValueFrom } from 'rxjs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModuleDb } from '../../../database/module-db';
import { freePort } from '../../../testing/free-port';
import { RedisServer, describeWithRedis, dropBullMqPrefix, hasRedisServerBinary, uniqueBullMqPrefix } from '../../../testing/redis';
import { type TestDatabase, createTestDatabase } from '../../../testing/test-database';
import { DeliveryGate } from '../../core/delivery-gate';
import { MessageDispatcher } from '../../core/dispatcher';
import { type Envelope, createEnvelope } from '../../core/envelope';
import { NonRetryableError, isTransportUnavailable } from '../../core/errors';
import { HandlerRegistry } from '../../core/handlers';
import { Outbox } from '../../core/outbox';
import { RelayPresence } from '../../core/presence';
import { OutboxRelay } from '../../core/relay';
import { FAST, Note, PaymentRequested, deferred, openMessagingModule, recordingLogger, waitFor } from '../../messaging.test-kit';
import { DeadLetters, MessagingModules } from '../../operations/dead-letters';
import { InProcessTransport } from '../in-process';
import { BullMqClient } from './bullmq-client';
import { consumerDeadLetters } from './bullmq-messaging';
import { BullMqRoutingTransport } from './bullmq-routing-transport';
import { BullMqServer } from './bullmq-server';
import { producerConnection, workerConnection } from './redis';

/**
 * The BullMQ transport between two hosts: `alpha` produces (outbox → relay → BullMqRoutingTransport → the `beta`
 * queue), `beta` consumes (BullMqServer → MessageDispatcher → inbox transaction). Real Redis, real PostgreSQL.
 */
describeWithRedis('BullMQ transport', (redisUrl) => {
  const prefix = uniqueBullMqPrefix('transport');
  const logger = recordingLogger();
  let db: TestDatabase;
  let alpha: ModuleDb;
  let beta: ModuleDb;
  let modules: MessagingModules;
  let deadLetters: DeadLetters;
  let queue: Queue;
  let client: BullMqClient;
  let server: BullMqServer | undefined;
  const outbox = new Outbox('alpha');
  const betaOutbox = new Outbox('beta');
  const gate = new DeliveryGate(8);
  const presence = new RelayPresence(logger);

  /** What beta's handler does with the next message. */
  let behaviour: (envelope: Envelope) => Promise<void> | void = () => undefined;
  const applied: string[] = [];
  const calls: string[] = [];
  const registry = new HandlerRegistry().add({
    consumer: 'beta:Notes.handle',
    module: 'beta',
    contract: Note,
    handle: async (_payload, ctx) => {
      await ctx.fresh; // a duplicate stops here
      calls.push(ctx.envelope.id);
      await behaviour(ctx.envelope);
      applied.push(ctx.envelope.id);
    },
  });
  const betaDispatcher = () =>
    new MessageDispatcher(
      registry,
      (m) => (m === 'beta' ? beta : alpha),
      (m) => (m === 'beta' ? betaOutbox : outbox),
      logger,
    );

  function startServer(overrides: Partial<ConstructorParameters<typeof BullMqServer>[0]> = {}): Promise<BullMqServer> {
    const s = new BullMqServer({
      connection: workerConnection(redisUrl),
      prefix,
      queue: 'beta',
      concurrency: 4,
      lockMs: 1_000,
      registry,
      dispatcher: betaDispatcher(),
      gate,
      deadLetter: consumerDeadLetters(registry, modules, deadLetters, new Logger('test')),
      ...overrides,
    });
    return new Promise((resolve, reject) => s.listen((error) => (error ? reject(error) : resolve(s))));
  }

  /** alpha's relay: nothing consumes Note on alpha, so its local part delivers nothing; the peer is beta. */
  const localOf = (db: () => ModuleDb, box: Outbox, handlers = new HandlerRegistry()) =>
    new InProcessTransport(new MessageDispatcher(handlers, db, () => box, logger));
  function alphaRelay(peer: BullMqClient = client): OutboxRelay {
    return new OutboxRelay({
      module: 'alpha',
      db: alpha,
      outbox,
      transport: new BullMqRoutingTransport(
        localOf(() => alpha, outbox),
        [peer],
        (m) => m === 'alpha',
      ),
      gate,
      presence,
      options: FAST,
      logger,
    });
  }

  async function publish(n: number): Promise<Envelope> {
    return alpha.transaction((tx) => outbox.add(tx, Note, { n }, { key: `k${n}` }));
  }

  async function job(id: string): Promise<Job | undefined> {
    return queue.getJob(id);
  }

  async function stateOf(id: string): Promise<string> {
    return (await (await job(id))?.getState()) ?? 'gone';
  }

  beforeAll(async () => {
    db = await createTestDatabase('bullmq');
    alpha = await openMessagingModule(db, 'alpha');
    beta = await openMessagingModule(db, 'beta');
    modules = new MessagingModules();
    modules.add(alpha);
    modules.add(beta);
    deadLetters = new DeadLetters(modules);
    queue = new Queue('beta', { connection: producerConnection(redisUrl), prefix });
    client = new BullMqClient({ connection: producerConnection(redisUrl), prefix, queue: 'beta', jobs: { attempts: 3, backoffMs: 20 } });
    await client.connect();
  });
  afterAll(async () => {
    await server?.close();
    await client?.close();
    await queue?.close();
    await dropBullMqPrefix(redisUrl, prefix);
    await presence.stop();
    await alpha?.pool.end();
    await beta?.pool.end();
    await db?.drop();
  });
  beforeEach(async () => {
    behaviour = () => undefined;
    applied.length = 0;
    calls.length = 0;
    server ??= await startServer();
  });

  it('sends a peer with a route only the types of its route; a peer without one gets every message', async () => {
    const local = localOf(() => alpha, outbox);
    const note = createEnvelope('alpha', Note.type, { n: 1 }, { key: 'route-1' }) as Envelope;
    const payment = createEnvelope(
      'alpha',
      PaymentRequested.type,
      { orderId: randomUUID(), amountCents: 1 },
      { key: 'route-1' },
    ) as Envelope;
    const routed = new BullMqRoutingTransport(local, [client], (m) => m === 'alpha', { beta: new Set([Note.type]) });
    await Promise.all([routed.deliver(note), routed.deliver(payment)]);
    expect(routed.carries(Note.type)).toBe(true);
    expect(routed.carries(PaymentRequested.type)).toBe(false); // nobody here or on the routed peer consumes it
    expect(await job(note.id)).toBeDefined();
    expect(await job(payment.id)).toBeUndefined();

    const other = createEnvelope('alpha', PaymentRequested.type, { orderId: randomUUID(), amountCents: 2 }, { key: 'route-2' }) as Envelope;
    await new BullMqRoutingTransport(local, [client], (m) => m === 'alpha').deliver(other);
    expect(await job(other.id)).toBeDefined();
    // let beta's worker finish them here, not during the next test
    await waitFor(async () => (await stateOf(note.id)) === 'completed' && (await stateOf(other.id)) === 'completed', 'the routed jobs');
  });

  it('acknowledges a job only after the consumer transaction has committed; a failed run is retried, not completed', async () => {
    const gate = deferred();
    behaviour = () => gate.promise;
    const sent = await publish(1);
    expect(await alphaRelay().runOnce()).toBe(1); // handed over = acknowledged by Redis
    await waitFor(async () => (await stateOf(sent.id)) === 'active', 'the job to run');
    await new Promise((r) => setTimeout(r, 100));
    expect(await stateOf(sent.id)).toBe('active'); // the handler has not committed: the job is not acknowledged
    expect(await beta.query(`SELECT 1 FROM inbox WHERE message_id = $1`, [sent.id])).toHaveLength(0);
    gate.resolve();
    await waitFor(async () => (await stateOf(sent.id)) === 'completed', 'the job to complete');
    expect(await beta.query(`SELECT 1 FROM inbox WHERE message_id = $1`, [sent.id])).toHaveLength(1);

    let failures = 1;
    behaviour = () => {
      if (failures-- > 0) throw new Error('the database hiccuped');
    };
    const flaky = await publish(2);
    await alphaRelay().runOnce();
    await waitFor(async () => (await stateOf(flaky.id)) === 'completed', 'the retried job to complete');
    expect((await job(flaky.id))!.attemptsMade).toBe(2); // BullMQ counts finished runs: the failed one, then the one that committed
    expect(calls.filter((id) => id === flaky.id)).toHaveLength(2);
    expect(applied.filter((id) => id === flaky.id)).toHaveLength(1);
    const [{ n }] = await beta.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE message_id = $1`, [flaky.id]);
    expect(n).toBe(1); // the failed run rolled its inbox row back
  });

  it('collapses copies by job id while the job exists; after it is gone the inbox skips the copy', async () => {
    const gate = deferred();
    behaviour = () => gate.promise;
    const e = createEnvelope('alpha', Note.type, { n: 3 }, { key: 'k3' });
    await client.enqueue([e]);
    await client.enqueue([e]);
    await client.enqueue([e, e]);
    gate.resolve();
    await waitFor(async () => (await stateOf(e.id)) === 'completed', 'the job to complete');
    await client.enqueue([e]); // completed, still kept: ignored by Redis
    await new Promise((r) => setTimeout(r, 200));
    expect(calls.filter((id) => id === e.id)).toHaveLength(1);

    await (await job(e.id))!.remove(); // as removeOnComplete does after keepCompletedSeconds
    await client.enqueue([e]);
    await waitFor(async () => (await stateOf(e.id)) === 'completed', 'the re-enqueued job to complete');
    expect(applied.filter((id) => id === e.id)).toHaveLength(1); // the inbox skipped the second delivery
    expect(calls.filter((id) => id === e.id)).toHaveLength(1); // ...before the handler ran
  });

  it('retries with backoff, then records a dead letter in the consumer database; requeue delivers it once with the same id', async () => {
    behaviour = () => {
      throw new Error('billing is confused');
    };
    const sent = await publish(4);
    await alphaRelay().runOnce();
    const letter = await waitFor(() => deadLetters.get('beta', sent.id), 'the dead letter');
    expect(letter).toMatchObject({ module: 'beta', id: sent.id, type: Note.type, key: 'k4', attempts: 3 });
    expect(letter.lastError).toMatch(/billing is confused/);
    expect(letter.envelope).toEqual(sent);
    const failed = (await job(sent.id))!;
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(3);
    expect(failed.opts.backoff).toEqual({ type: 'exponential', delay: 20, jitter: 1 });
    expect(calls.filter((id) => id === sent.id)).toHaveLength(3);
    // alpha's row was handed over: it is gone there, and the dead letter belongs to beta, the consumer
    expect(await alpha.query(`SELECT status FROM outbox WHERE message_id = $1`, [sent.id])).toEqual([]);
    expect((await deadLetters.list({ module: 'beta' })).map((d) => d.id)).toContain(sent.id);

    // the operator fixes the cause and requeues: beta's relay delivers it to beta's local consumers, same id
    behaviour = () => undefined;
    const betaRelay = new OutboxRelay({
      module: 'beta',
      db: beta,
      outbox: betaOutbox,
      transport: new BullMqRoutingTransport(new InProcessTransport(betaDispatcher()), [client], (m) => m === 'beta'),
      gate,
      presence,
      options: FAST,
      logger,
    });
    expect(await deadLetters.requeue('beta', sent.id)).toBe(true);
    expect(await betaRelay.runOnce()).toBe(1);
    expect(applied.filter((id) => id === sent.id)).toHaveLength(1);
    // produced by alpha, so it went to beta's local consumers only: no new job on any queue
    expect((await job(sent.id))!.attemptsMade).toBe(3);
    // a second dead letter of the same message (say, recorded twice) is skipped by the consumer that applied it
    expect(await deadLetters.record('beta', sent, { attempts: 3, error: 'again' })).toBe(true);
    await deadLetters.requeue('beta', sent.id);
    await betaRelay.runOnce();
    expect(applied.filter((id) => id === sent.id)).toHaveLength(1);
    await betaRelay.stop();
  });

  it('works as a Nest ClientProxy: emit(type, envelope) enqueues an event; request/response is refused', async () => {
    const e = createEnvelope('alpha', Note.type, { n: 8 }, { key: 'k8' });
    await lastValueFrom(client.emit(Note.type, e), { defaultValue: undefined });
    await waitFor(() => applied.includes(e.id), 'the emitted event to be applied');
    await expect(lastValueFrom(client.emit('some.other-type.v1', e))).rejects.toThrow(/pattern must be the envelope's type/);
    await expect(lastValueFrom(client.send(Note.type, e))).rejects.toThrow(/events only/);
  });

  it('dead-letters a NonRetryableError or an invalid payload at once', async () => {
    behaviour = () => {
      throw new NonRetryableError('this can never work');
    };
    const sent = await publish(5);
    await alphaRelay().runOnce();
    expect(await waitFor(() => deadLetters.get('beta', sent.id), 'the dead letter')).toMatchObject({ attempts: 1 });
    expect(calls.filter((id) => id === sent.id)).toHaveLength(1);

    const poison = createEnvelope('alpha', Note.type, { n: 'not a number' }, { key: 'poison' });
    await client.enqueue([poison]);
    const letter = await waitFor(() => deadLetters.get('beta', poison.id), 'the poison dead letter');
    expect(letter).toMatchObject({ attempts: 1 });
    expect(letter.lastError).toMatch(/does not match the contract/);
    expect(calls).not.toContain(poison.id);
  });

  it('runs a job again when its worker was force-closed mid-run, once the lock expires', async () => {
    await server!.close();
    server = undefined;
    // A worker that takes the job and never finishes it (as if the process froze or was killed).
    const stuck = await startServer({
      dispatcher: { deliver: () => new Promise(() => undefined) } as unknown as MessageDispatcher,
      gate: new DeliveryGate(8), // its own process
    });
    const sent = await publish(6);
    await alphaRelay().runOnce();
    await waitFor(async () => (await stateOf(sent.id)) === 'active', 'the stuck worker to take the job');
    await stuck.unwrap<Worker>().close(true); // force: no drain, the lock is simply no longer renewed
    server = await startServer();
    await waitFor(async () => (await stateOf(sent.id)) === 'completed', 'the stalled job to run again', 20_000);
    expect(applied.filter((id) => id === sent.id)).toHaveLength(1);
    const done = (await job(sent.id))!;
    expect(done.attemptsStarted).toBe(2); // taken twice...
    expect(done.attemptsMade).toBe(1); // ...but the stall did not count as a failed attempt
  });

  (hasRedisServerBinary() ? it : it.skip)(
    'Redis away: the send rejects, the relay keeps the message without counting an attempt, and it goes once Redis is back',
    async () => {
      const redis = new RedisServer({
        port: await freePort(),
        dir: mkdtempSync(path.join(tmpdir(), 'mf-redis-')),
        appendonly: true,
        appendfsync: 'always',
      });
      await redis.start();
      const peer = new BullMqClient({ connection: producerConnection(redis.url), prefix, queue: 'beta' });
      await peer.connect();
      const consumer = await startServer({ connection: workerConnection(redis.url) });
      const relay = alphaRelay(peer);
      try {
        await redis.kill();
        const direct = await peer.enqueue([createEnvelope('alpha', Note.type, { n: 0 }, { key: 'x' })]).catch((e: unknown) => e);
        expect(isTransportUnavailable(direct)).toBe(true);

        const sent = await publish(7);
        const started = Date.now();
        await relay.runOnce();
        expect(Date.now() - started).toBeLessThan(3_000); // fails fast, does not hang
        const [row] = await alpha.query<{ status: string; attempts: number; last_error: string }>(
          `SELECT status, attempts, last_error FROM outbox WHERE message_id = $1`,
          [sent.id],
        );
        expect(row).toMatchObject({ status: 'pending', attempts: 0 });
        expect(row.last_error).toMatch(/TransportUnavailableError.*enqueue/);

        await redis.start(); // same port, same data
        await waitFor(
          async () => {
            await relay.runOnce();
            return (await alpha.query(`SELECT status FROM outbox WHERE message_id = $1`, [sent.id])).length === 0;
          },
          'the relay to hand the message over after the restart',
          20_000,
        );
        // the worker reconnected by itself and applies it
        await waitFor(() => applied.includes(sent.id), 'the reconnected worker to apply it', 20_000);
      } finally {
        await consumer.close();
        await peer.close();
        await redis.kill();
      }
    },
    60_000,
  );
});
