import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { statement } from '../../database/module-db';
import type { PayloadOf } from './contract';
import { MessageDispatcher } from './dispatcher';
import { type Envelope, createEnvelope } from './envelope';
import { InvalidMessageError, NonRetryableError, isNonRetryable } from './errors';
import { HandleMessage, HandlerRegistry, MessageConsumer, type MessageContext, subscriptionsOf } from './handlers';
import { PaymentCaptured, PaymentRequested, deferred, messagingTestDatabase, waitFor } from '../messaging.test-kit';
import { Outbox } from './outbox';

describe('MessageDispatcher (inbox + handlers)', () => {
  const t = messagingTestDatabase('dispatch');
  const dbs = () => ({ alpha: t.alpha, beta: t.beta });
  const outboxes = { alpha: new Outbox('alpha'), beta: new Outbox('beta') };
  const dispatcherOf = (registry: HandlerRegistry) =>
    new MessageDispatcher(
      registry,
      (m) => dbs()[m as 'alpha' | 'beta'],
      (m) => outboxes[m as 'alpha' | 'beta'],
    );
  beforeEach(async () => {
    await t.beta.query('DELETE FROM inbox');
    await t.beta.query('DELETE FROM outbox');
  });

  function dispatcherWith(
    ...handlers: { consumer: string; handle: (p: PayloadOf<typeof PaymentRequested>, ctx: MessageContext) => unknown }[]
  ) {
    const registry = new HandlerRegistry();
    for (const h of handlers) registry.add({ consumer: h.consumer, module: 'beta', contract: PaymentRequested, handle: h.handle });
    return dispatcherOf(registry);
  }
  const message = (payload: unknown = { orderId: randomUUID(), amountCents: 100 }) =>
    createEnvelope('alpha', PaymentRequested.type, payload, { key: 'order-1' }) as Envelope;

  it('runs the handler with the validated payload, records the inbox row and skips a duplicate', async () => {
    const seen: unknown[] = [];
    const dispatcher = dispatcherWith({
      consumer: 'beta:Billing.capture',
      handle: async (p, ctx) => {
        await ctx.fresh; // an effect outside the database: only once the inbox row is known to be new
        seen.push(p);
      },
    });
    const envelope = message();

    expect(await dispatcher.deliver(envelope)).toEqual([{ consumer: 'beta:Billing.capture', messageId: envelope.id, outcome: 'applied' }]);
    expect(await dispatcher.deliver(envelope)).toEqual([
      { consumer: 'beta:Billing.capture', messageId: envelope.id, outcome: 'duplicate' },
    ]);
    expect(seen).toEqual([envelope.payload]);
    expect(await t.beta.query('SELECT consumer, message_id FROM inbox')).toEqual([
      { consumer: 'beta:Billing.capture', message_id: envelope.id },
    ]);
  });

  it('applies two copies delivered at the same moment once (the second waits on the inbox key, then skips)', async () => {
    const admin = new Client({ connectionString: t.db.url });
    await admin.connect();
    const gate = deferred();
    let calls = 0;
    const dispatcher = dispatcherWith({
      consumer: 'beta:Billing.capture',
      handle: async (_p, ctx) => {
        await ctx.fresh;
        calls++;
        await gate.promise;
      },
    });
    const envelope = message();
    try {
      const both = Promise.all([dispatcher.deliver(envelope), dispatcher.deliver(envelope)]);
      // Hold the first handler open until the second copy is blocked on the inbox row (or, were the inbox
      // broken, has entered the handler too).
      await waitFor(async () => {
        const waiting = await admin.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%inbox%'`,
        );
        return waiting.rowCount! > 0 || calls > 1;
      }, 'the second copy to wait on the inbox');
      gate.resolve();
      const outcomes = (await both).flat().map((o) => o.outcome);
      expect(outcomes.sort()).toEqual(['applied', 'duplicate']);
      expect(calls).toBe(1);
    } finally {
      gate.resolve();
      await admin.end();
    }
  });

  it('rolls back the inbox row and the handler writes when the handler fails, so a retry runs it again', async () => {
    let fail = true;
    const dispatcher = dispatcherWith({
      consumer: 'beta:Billing.capture',
      handle: async (p, ctx) => {
        await ctx.outbox.add(PaymentCaptured, { orderId: p.orderId }, { key: p.orderId });
        if (fail) throw new Error('card declined by a flaky gateway');
      },
    });
    const envelope = message();
    await expect(dispatcher.deliver(envelope)).rejects.toThrow('flaky gateway');
    expect(await t.beta.query('SELECT * FROM inbox')).toHaveLength(0);
    expect(await t.beta.query('SELECT * FROM outbox')).toHaveLength(0);
    fail = false;
    expect((await dispatcher.deliver(envelope))[0].outcome).toBe('applied');
    expect(await t.beta.query('SELECT * FROM outbox')).toHaveLength(1);
  });

  it('publishes through ctx.outbox in the consumer transaction with correlation, causation and trace of the incoming message', async () => {
    const dispatcher = dispatcherWith({
      consumer: 'beta:Billing.capture',
      handle: (p, ctx) => ctx.outbox.add(PaymentCaptured, { orderId: p.orderId }, { key: p.orderId }),
    });
    const envelope = message();
    await dispatcher.deliver(envelope);
    const [{ envelope: sent }] = await t.beta.query('SELECT envelope FROM outbox');
    expect(sent).toMatchObject({
      type: PaymentCaptured.type,
      source: 'beta',
      correlationId: envelope.correlationId,
      causationId: envelope.id,
    });
    expect(sent.traceparent.slice(0, 36)).toBe(envelope.traceparent.slice(0, 36));
    expect(sent.traceparent).not.toBe(envelope.traceparent);
  });

  it('refuses an invalid payload before the handler runs, as non-retryable', async () => {
    let calls = 0;
    const dispatcher = dispatcherWith({ consumer: 'beta:Billing.capture', handle: () => void calls++ });
    const error = await dispatcher.deliver(message({ orderId: 'nope' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(isNonRetryable(error)).toBe(true);
    expect((error as Error).message).toMatch(/alpha\.payment-requested\.v1.*orderId.*dead letters/);
    expect(calls).toBe(0);
    expect(await t.beta.query('SELECT * FROM inbox')).toHaveLength(0);
  });

  it('refuses a malformed envelope as non-retryable', async () => {
    const dispatcher = dispatcherWith();
    await expect(dispatcher.deliver({ hello: 'world' })).rejects.toThrow(NonRetryableError);
  });

  it("sends the inbox row with the handler's first read: a duplicate stops at that read, a write-only handler is rolled back", async () => {
    const reads: string[] = [];
    const selectOne = statement('SELECT 1 AS one');
    const reading = dispatcherWith({
      consumer: 'beta:Billing.capture',
      handle: async (_p, ctx) => {
        reads.push('before');
        await ctx.tx.query(selectOne);
        reads.push('after');
        await ctx.outbox.add(PaymentCaptured, { orderId: randomUUID() }, { key: 'k' });
      },
    });
    const envelope = message();
    expect((await reading.deliver(envelope))[0].outcome).toBe('applied');
    expect((await reading.deliver(envelope))[0].outcome).toBe('duplicate');
    expect(reads).toEqual(['before', 'after', 'before']); // the duplicate never got past its first read

    let writes = 0;
    const writing = dispatcherWith({
      consumer: 'beta:Billing.note',
      handle: async (p, ctx) => {
        writes++;
        await ctx.outbox.add(PaymentCaptured, { orderId: p.orderId }, { key: 'k' });
      },
    });
    expect((await writing.deliver(envelope))[0].outcome).toBe('applied');
    expect((await writing.deliver(envelope))[0].outcome).toBe('duplicate');
    expect(writes).toBe(2);
    expect(await t.beta.query('SELECT count(*)::int AS n FROM outbox')).toEqual([{ n: 2 }]); // the duplicate's writes were rolled back
  });

  it('applies a message to its subscribers one after the other, never side by side', async () => {
    let running = 0;
    let overlap = false;
    const slow = async () => {
      overlap ||= running > 0;
      running++;
      await new Promise((r) => setTimeout(r, 40));
      running--;
    };
    const dispatcher = dispatcherWith({ consumer: 'beta:A.handle', handle: slow }, { consumer: 'beta:B.handle', handle: slow });
    expect((await dispatcher.deliver(message())).map((o) => o.outcome)).toEqual(['applied', 'applied']);
    expect(overlap).toBe(false);
  });

  it('does nothing for a type without local subscribers', async () => {
    expect(await dispatcherWith().deliver(message())).toEqual([]);
  });

  it('with several subscribers, a failure fails the delivery; on the retry the ones that committed skip', async () => {
    let failing = true;
    const calls = { a: 0, b: 0 };
    const dispatcher = dispatcherWith(
      { consumer: 'beta:A.handle', handle: async (_p, ctx) => void (await ctx.fresh, calls.a++) },
      {
        consumer: 'beta:B.handle',
        handle: async (_p, ctx) => {
          await ctx.fresh;
          calls.b++;
          if (failing) throw new Error('B is down');
        },
      },
    );
    const envelope = message();
    await expect(dispatcher.deliver(envelope)).rejects.toThrow('B is down');
    failing = false;
    expect(await dispatcher.deliver(envelope)).toEqual([
      { consumer: 'beta:A.handle', messageId: envelope.id, outcome: 'duplicate' },
      { consumer: 'beta:B.handle', messageId: envelope.id, outcome: 'applied' },
    ]);
    expect(calls).toEqual({ a: 1, b: 2 });
  });

  it('reads @MessageConsumer/@HandleMessage into subscriptions named <module>:<Class>.<method>', async () => {
    @MessageConsumer('beta')
    class CapturePaymentHandler {
      readonly captured: string[] = [];
      @HandleMessage(PaymentRequested)
      capture(payload: PayloadOf<typeof PaymentRequested>, ctx: MessageContext<PayloadOf<typeof PaymentRequested>>) {
        this.captured.push(`${payload.orderId}:${ctx.envelope.id}`);
      }
      @HandleMessage(PaymentCaptured, { consumer: 'receipt' })
      async receipt() {}
    }
    const handler = new CapturePaymentHandler();
    const subscriptions = subscriptionsOf(handler);
    expect(subscriptions.map((s) => [s.consumer, s.module, s.contract.type])).toEqual([
      ['beta:CapturePaymentHandler.capture', 'beta', PaymentRequested.type],
      ['beta:CapturePaymentHandler.receipt', 'beta', PaymentCaptured.type],
    ]);
    const registry = new HandlerRegistry();
    subscriptions.forEach((s) => registry.add(s));
    expect(() => registry.add(subscriptions[0])).toThrow(/unique/);
    const envelope = message();
    await dispatcherOf(registry).deliver(envelope);
    expect(handler.captured).toEqual([`${(envelope.payload as { orderId: string }).orderId}:${envelope.id}`]);
  });

  it("re-runs a handler marked onDuplicate: 'rerun' on a duplicate, without an inbox row, so that its lost reply goes out again", async () => {
    @MessageConsumer('beta')
    class Replier {
      readonly runs: boolean[] = [];
      failOnRerun = false;
      @HandleMessage(PaymentRequested, { onDuplicate: 'rerun' })
      async capture(p: PayloadOf<typeof PaymentRequested>, ctx: MessageContext) {
        this.runs.push(ctx.duplicate === true);
        if (ctx.duplicate && this.failOnRerun) throw new Error('the state to answer from is gone');
        await ctx.outbox.add(PaymentCaptured, { orderId: p.orderId }, { key: p.orderId });
      }
    }
    const replier = new Replier();
    const registry = new HandlerRegistry();
    subscriptionsOf(replier).forEach((sub) => registry.add(sub));
    const dispatcher = dispatcherOf(registry);
    const replies = () => t.beta.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE type = $1`, [PaymentCaptured.type]);
    const envelope = message();

    expect(await dispatcher.deliver(envelope)).toEqual([{ consumer: 'beta:Replier.capture', messageId: envelope.id, outcome: 'applied' }]);
    expect(await replies()).toEqual([{ n: 1 }]);
    await t.beta.query('DELETE FROM outbox'); // the reply was lost (dead-lettered and purged, say)

    expect(await dispatcher.deliver(envelope)).toEqual([
      { consumer: 'beta:Replier.capture', messageId: envelope.id, outcome: 'duplicate' },
    ]);
    expect(await replies()).toEqual([{ n: 1 }]); // the reply again
    expect(replier.runs).toEqual([false, false, true]); // first delivery; the duplicate stopped by the inbox; the re-run
    expect(await t.beta.query('SELECT count(*)::int AS n FROM inbox')).toEqual([{ n: 1 }]);

    // best effort: a re-run that fails leaves the duplicate done, as without a re-run
    replier.failOnRerun = true;
    await t.beta.query('DELETE FROM outbox');
    expect(await dispatcher.deliver(envelope)).toEqual([
      { consumer: 'beta:Replier.capture', messageId: envelope.id, outcome: 'duplicate' },
    ]);
    expect(await replies()).toEqual([{ n: 0 }]);
  });

  it('skips a duplicate without re-running the handler by default', async () => {
    let runs = 0;
    const dispatcher = dispatcherWith({ consumer: 'beta:Plain.handle', handle: async (_p, ctx) => void (await ctx.fresh, runs++) });
    const envelope = message();
    await dispatcher.deliver(envelope);
    await dispatcher.deliver(envelope);
    expect(runs).toBe(1);
  });
});
