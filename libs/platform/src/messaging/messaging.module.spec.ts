import { randomUUID } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import request from 'supertest';
import { DatabaseModule, InjectModuleDb } from '../database/database.module';
import type { ModuleDb } from '../database/module-db';
import { type TestApp, createTestApp } from '../testing/test-app';
import type { PayloadInput, PayloadOf } from './core/contract';
import { NonRetryableError } from './core/errors';
import { HandleMessage, HandlerRegistry, MessageConsumer, type MessageContext } from './core/handlers';
import { messagingMigrations } from './core/migrations';
import { InjectOutbox, Outbox } from './core/outbox';
import { MessagingModule, type OutboxRelayHost, relayToken } from './messaging.module';
import { CrashProcess } from './operations/fault-injection';
import { FAST, MIGRATIONS_AT, Note, PaymentRequested, waitFor } from './messaging.test-kit';

const ADMIN_TOKEN = 'test-admin-token-0123456789';

@Injectable()
class Checkout {
  constructor(
    @InjectModuleDb('alpha') readonly db: ModuleDb,
    @InjectOutbox('alpha') private readonly outbox: Outbox,
  ) {}

  publish<C extends typeof Note | typeof PaymentRequested>(contract: C, payload: PayloadInput<C>, key: string) {
    return this.db.transaction((tx) => this.outbox.add(tx, contract, payload, { key }));
  }
}

@MessageConsumer('alpha')
@Injectable()
class PaymentHandlers {
  readonly captured: string[] = [];
  @HandleMessage(PaymentRequested)
  capture(payload: PayloadOf<typeof PaymentRequested>, ctx: MessageContext) {
    if (payload.amountCents === 13) throw new NonRetryableError('unlucky amount');
    this.captured.push(`${payload.orderId}@${ctx.envelope.id}`);
  }
}

@Module({
  imports: [
    DatabaseModule.forModule({ name: 'alpha', migrations: messagingMigrations(MIGRATIONS_AT) }),
    MessagingModule.forModule('alpha'),
  ],
  providers: [Checkout, PaymentHandlers],
})
class AlphaModule {}

describe('MessagingModule declarations', () => {
  it('refuses to start a module whose handlers differ from the messages it declares it consumes', async () => {
    @Module({
      imports: [
        DatabaseModule.forModule({ name: 'alpha', migrations: messagingMigrations(MIGRATIONS_AT) }),
        MessagingModule.forModule('alpha', { consumes: [Note.type] }),
      ],
      providers: [PaymentHandlers],
    })
    class MisdeclaredModule {}
    await expect(createTestApp([MisdeclaredModule])).rejects.toThrow(
      `The 'alpha' module handles ${PaymentRequested.type} without declaring it and declares ${Note.type} but has no handler for it.`,
    );
  });
});

describe('MessagingModule fault injection (failure drills)', () => {
  @Module({
    imports: [
      DatabaseModule.forModule({ name: 'alpha', migrations: messagingMigrations(MIGRATIONS_AT) }),
      MessagingModule.forModule('alpha', { consumes: [PaymentRequested.type] }),
    ],
    providers: [PaymentHandlers],
  })
  class DeclaredModule {}
  const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

  it('with crash: subscribes the crash consumer in a consumer module (outside its declarations) and says where', async () => {
    const t = await createTestApp([DeclaredModule], undefined, { relay: FAST, adminToken: ADMIN_TOKEN, faultInjection: 'crash' });
    try {
      expect((await request(t.app.getHttpServer()).get('/admin/fault-injection')).status).toBe(401);
      const res = await request(t.app.getHttpServer()).get('/admin/fault-injection').set(auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ crash: { type: CrashProcess.type, module: 'alpha' } });
      expect(
        t.app
          .get(HandlerRegistry)
          .subscriptionsFor(CrashProcess.type)
          .map((s) => s.consumer),
      ).toEqual(['alpha:FaultInjection.crash']);
    } finally {
      await t.close();
    }
  });

  it('off (the default): no crash consumer, and GET /admin/fault-injection does not exist', async () => {
    const t = await createTestApp([DeclaredModule], undefined, { relay: FAST, adminToken: ADMIN_TOKEN });
    try {
      expect((await request(t.app.getHttpServer()).get('/admin/fault-injection').set(auth)).status).toBe(404);
      expect(t.app.get(HandlerRegistry).subscriptionsFor(CrashProcess.type)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('MessagingModule', () => {
  let t: TestApp;
  let checkout: Checkout;
  const status = async (id: string) =>
    (await checkout.db.query<{ status: string }>(`SELECT status FROM outbox WHERE message_id = $1`, [id]))[0]?.status ?? 'gone';

  beforeAll(async () => {
    t = await createTestApp([AlphaModule], undefined, { relay: FAST, adminToken: ADMIN_TOKEN });
    checkout = t.app.get(Checkout);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs the relay of a module booted alone: discovered handlers run, messages without subscribers are not stored', async () => {
    const orderId = randomUUID();
    const payment = await checkout.publish(PaymentRequested, { orderId, amountCents: 100 }, orderId);
    const note = await checkout.publish(Note, { n: 1 }, 'k');
    expect(await status(note.id)).toBe('gone');
    await waitFor(async () => (await status(payment.id)) === 'gone', 'the payment delivered');
    expect(t.app.get(PaymentHandlers).captured).toEqual([`${orderId}@${payment.id}`]);
    expect(t.app.get<OutboxRelayHost>(relayToken('alpha')).relay).toBeDefined();
  });

  describe('admin endpoints', () => {
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    let deadId: string;

    beforeAll(async () => {
      const orderId = randomUUID();
      deadId = (await checkout.publish(PaymentRequested, { orderId, amountCents: 13 }, orderId)).id;
      await waitFor(async () => (await status(deadId)) === 'dead', 'the dead letter');
    });

    it('refuse requests without the right bearer token (problem+json)', async () => {
      for (const headers of [{}, { Authorization: 'Bearer wrong-token-wrong-token' }, { Authorization: ADMIN_TOKEN }]) {
        const res = await request(t.app.getHttpServer()).get('/admin/dead-letters').set(headers);
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 401, detail: expect.stringContaining('Authorization: Bearer') });
      }
      const del = await request(t.app.getHttpServer()).delete('/admin/dead-letters/alpha');
      expect(del.status).toBe(401);
      expect(await status(deadId)).toBe('dead');
    });

    it('list, show, requeue and purge with the token', async () => {
      const server = t.app.getHttpServer();
      const list = await request(server).get('/admin/dead-letters?module=alpha&limit=10').set(auth);
      expect(list.status).toBe(200);
      expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([deadId]);

      const shown = await request(server).get(`/admin/dead-letters/alpha/${deadId}`).set(auth);
      expect(shown.status).toBe(200);
      expect(shown.body).toMatchObject({
        id: deadId,
        module: 'alpha',
        attempts: 1,
        envelope: { id: deadId },
        errors: [{ error: 'NonRetryableError: unlucky amount' }],
      });

      expect((await request(server).get(`/admin/dead-letters/alpha/${randomUUID()}`).set(auth)).body).toMatchObject({
        status: 404,
        type: expect.stringMatching(/dead-letter-not-found$/),
      });
      expect((await request(server).get(`/admin/dead-letters/gamma/${deadId}`).set(auth)).status).toBe(404);
      expect((await request(server).get(`/admin/dead-letters/alpha/not-a-uuid`).set(auth)).status).toBe(400);
      expect((await request(server).get('/admin/dead-letters?limit=0').set(auth)).status).toBe(400);

      const requeued = await request(server).post(`/admin/dead-letters/alpha/${deadId}/requeue`).set(auth);
      expect(requeued.status).toBe(200);
      await waitFor(async () => (await status(deadId)) === 'dead', 'the requeued message to fail again'); // still unlucky
      expect((await request(server).delete(`/admin/dead-letters/alpha/${deadId}`).set(auth)).body).toEqual({ purged: 1 });
      expect(await status(deadId)).toBe('gone');
      expect((await request(server).delete('/admin/dead-letters/alpha').set(auth)).body).toEqual({ purged: 0 });

      const stats = await request(server).get('/admin/outbox/stats').set(auth);
      expect(stats.body).toEqual([expect.objectContaining({ module: 'alpha', dead: 0 })]);
    });

    it('refuse everything when no admin token is configured', async () => {
      const bare = await createTestApp([AlphaModule], t.db, { relay: FAST });
      try {
        const res = await request(bare.app.getHttpServer()).get('/admin/dead-letters').set(auth);
        expect(res.status).toBe(403);
        expect(res.body.detail).toMatch(/ADMIN_TOKEN/);
      } finally {
        await bare.close();
      }
    });
  });
});
