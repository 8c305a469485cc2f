import { randomUUID } from 'node:crypto';
import { EnvelopeSchema, createEnvelope } from './envelope';
import { InvalidMessageError, OutboxRequiresTransactionError } from './errors';
import { PaymentRequested, messagingTestDatabase } from '../messaging.test-kit';
import { Outbox } from './outbox';
import type { Tx } from '../../database/module-db';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('Outbox.add', () => {
  const outbox = new Outbox('alpha');
  const rows = () => t.alpha.query(`SELECT message_id, type, key, envelope, status, not_before FROM outbox ORDER BY seq`);

  const t = messagingTestDatabase('outbox');
  beforeEach(() => t.alpha.query('DELETE FROM outbox'));

  it('writes a validated envelope in the caller transaction, with a UUIDv7 id and a new trace', async () => {
    const orderId = randomUUID();
    const envelope = await t.alpha.transaction((tx) => outbox.add(tx, PaymentRequested, { orderId, amountCents: 1250 }, { key: orderId }));

    expect(EnvelopeSchema.parse(envelope)).toBeTruthy();
    expect(envelope.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(envelope).toMatchObject({
      type: PaymentRequested.type,
      source: 'alpha',
      key: orderId,
      correlationId: envelope.id,
      causationId: null,
    });
    expect(envelope.traceparent).toMatch(TRACEPARENT);
    const [row] = await rows();
    expect(row).toMatchObject({ message_id: envelope.id, type: PaymentRequested.type, key: orderId, status: 'pending', not_before: null });
    expect(row.envelope).toEqual(envelope);
  });

  it('carries correlation, causation and the trace id of the causing message, with a new span id', () => {
    const cause = createEnvelope(
      'beta',
      'beta.x.v1',
      {},
      { key: 'k', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=1' },
    );
    const next = createEnvelope('alpha', 'alpha.y.v1', {}, { key: 'k', cause });
    expect(cause.traceparent.slice(0, 36)).toBe('00-0af7651916cd43dd8448eb211c80319c-');
    expect(next.correlationId).toBe(cause.correlationId);
    expect(next.causationId).toBe(cause.id);
    const [, traceId, spanId] = TRACEPARENT.exec(next.traceparent)!;
    expect(traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(spanId).not.toBe(TRACEPARENT.exec(cause.traceparent)![2]);
    expect(next.tracestate).toBe('vendor=1');
    // a malformed parent starts a new trace instead of propagating garbage
    expect(createEnvelope('alpha', 't', {}, { key: 'k', traceparent: 'nonsense' }).traceparent).toMatch(TRACEPARENT);
  });

  it('refuses to write outside a transaction', () => {
    const orderId = randomUUID();
    const add = () => outbox.add(undefined as unknown as Tx, PaymentRequested, { orderId, amountCents: 1 }, { key: orderId });
    expect(add).toThrow(OutboxRequiresTransactionError);
    expect(add).toThrow(/db\.transaction/);
  });

  it('refuses an invalid payload, naming the type and the issues, and writes nothing', async () => {
    const error = await t.alpha
      .transaction((tx) => outbox.add(tx, PaymentRequested, { orderId: 'not-a-uuid', amountCents: -5 }, { key: 'k' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect((error as InvalidMessageError).type).toBe(PaymentRequested.type);
    expect((error as InvalidMessageError).issues.map((i) => i.path.join('.'))).toEqual(['orderId', 'amountCents']);
    expect((error as Error).message).toMatch(/alpha\.payment-requested\.v1.*orderId.*amountCents/);
    expect(await rows()).toHaveLength(0);
  });

  it('leaves nothing behind when the producing transaction rolls back', async () => {
    const orderId = randomUUID();
    await expect(
      t.alpha.transaction(async (tx) => {
        await outbox.add(tx, PaymentRequested, { orderId, amountCents: 1 }, { key: orderId });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await rows()).toHaveLength(0);
  });

  it('refuses the transaction of another module', async () => {
    await expect(
      t.beta.transaction((tx) => outbox.add(tx, PaymentRequested, { orderId: randomUUID(), amountCents: 1 }, { key: 'k' })),
    ).rejects.toThrow(/transaction of the 'beta' module/);
  });

  it('writes the messages of one transaction in one statement, in the order they were added, at commit', async () => {
    const seen: string[] = [];
    const orderId = randomUUID();
    const added = await t.alpha.transaction(async (tx) => {
      const first = await outbox.add(tx, PaymentRequested, { orderId, amountCents: 1 }, { key: orderId });
      const second = await outbox.add(tx, PaymentRequested, { orderId, amountCents: 2 }, { key: 'another' });
      seen.push(...(await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox`)).map((r) => String(r.n)));
      return [first.id, second.id];
    });
    expect(seen).toEqual(['0']); // nothing is written before the commit
    expect((await rows()).map((r) => r.message_id)).toEqual(added);
  });

  it('keeps a given id, so a message can be re-sent as the same message', async () => {
    const id = randomUUID();
    const orderId = randomUUID();
    for (let i = 0; i < 2; i++)
      await t.alpha.transaction((tx) => outbox.add(tx, PaymentRequested, { orderId, amountCents: 1 }, { key: orderId, id }));
    expect((await rows()).map((r) => r.message_id)).toEqual([id, id]);
  });

  it('stores notBefore for delayed delivery, as scheduled until it is due', async () => {
    const notBefore = new Date(Date.now() + 60_000);
    const envelope = await t.alpha.transaction((em) =>
      outbox.add(em, PaymentRequested, { orderId: randomUUID(), amountCents: 1 }, { key: 'k', notBefore }),
    );
    expect(envelope.notBefore).toBe(notBefore.toISOString());
    const [row] = await rows();
    expect(new Date(row.not_before).getTime()).toBe(notBefore.getTime());
    expect(row.status).toBe('scheduled');
  });

  it('withdraws only the scheduled messages of one key that are not due yet, in the caller’s transaction', async () => {
    const later = new Date(Date.now() + 60_000);
    const add = (key: string, notBefore?: Date) =>
      t.alpha.transaction((tx) => outbox.add(tx, PaymentRequested, { orderId: randomUUID(), amountCents: 1 }, { key, notBefore }));
    const timer = await add('o-1:deadline', later);
    const other = await add('o-2:deadline', later);
    const due = await add('o-1:deadline', new Date(Date.now() - 1_000)); // already due: it goes out
    const undelayed = await add('o-1:deadline');

    await expect(
      t.alpha.transaction((tx) => {
        outbox.withdrawScheduled(tx, 'o-1:deadline');
        return Promise.reject(new Error('the step failed'));
      }),
    ).rejects.toThrow('the step failed');
    expect((await rows()).map((r) => r.message_id)).toContain(timer.id); // rolled back with it

    const [kept, replaced] = await t.alpha.transaction(async (tx) => {
      const early = await outbox.add(
        tx,
        PaymentRequested,
        { orderId: randomUUID(), amountCents: 1 },
        { key: 'o-1:deadline', notBefore: later },
      );
      outbox.withdrawScheduled(tx, 'o-1:deadline'); // also the timer added earlier in this transaction
      const next = await outbox.add(
        tx,
        PaymentRequested,
        { orderId: randomUUID(), amountCents: 1 },
        { key: 'o-1:deadline', notBefore: later },
      );
      return [next.id, early.id];
    });
    const ids = (await rows()).map((r) => r.message_id);
    expect(ids).toEqual([other.id, due.id, undelayed.id, kept]);
    expect(ids).not.toContain(replaced);
    expect(() => outbox.withdrawScheduled(t.beta as unknown as Tx, 'o-2:deadline')).toThrow(OutboxRequiresTransactionError);
  });
});
