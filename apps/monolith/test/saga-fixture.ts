import { BillingModule } from '@app/billing';
import { InventoryModule } from '@app/inventory';
import { OrdersModule } from '@app/orders';
import { createTestApp, type TestApp, type TestDatabase } from '@app/platform';
import { randomUUID } from 'node:crypto';
import request from 'supertest';

/** The three modules on one platform, with a saga whose steps time out in `stepTimeoutMs`. */
export function bootMonolith(db?: TestDatabase, saga = { stepTimeoutMs: 300, maxAttempts: 2, maxRetryDelayMs: 600 }): Promise<TestApp> {
  return createTestApp([InventoryModule, BillingModule, OrdersModule.forRoot({ saga })], db);
}

export class Shop {
  constructor(readonly t: TestApp) {}

  http() {
    return request(this.t.app.getHttpServer());
  }

  async item(sku: string, priceCents: number, quantity: number): Promise<void> {
    await this.http().post('/inventory/items').send({ sku, name: sku, priceCents, quantity }).expect(201);
  }

  async customer(customerId: string, depositCents: number): Promise<void> {
    await this.http().post('/billing/accounts').send({ customerId }).expect(201);
    if (depositCents > 0) {
      await this.http()
        .post(`/billing/accounts/${customerId}/deposits`)
        .set('Idempotency-Key', randomUUID())
        .send({ amountCents: depositCents })
        .expect(201);
    }
  }

  async place(customerId: string, lines: { sku: string; quantity: number }[], key = randomUUID()): Promise<string> {
    const res = await this.http().post('/orders').set('Idempotency-Key', key).send({ customerId, lines }).expect(202);
    return res.body.id as string;
  }

  async order(
    id: string,
  ): Promise<{ status: string; reason?: string; totalCents: number | null; history: { event: string; detail: string }[] }> {
    return (await this.http().get(`/orders/${id}`).expect(200)).body;
  }

  /** Polls until the order is CONFIRMED or CANCELLED (the saga is asynchronous). */
  async settled(id: string, timeoutMs = 15_000): Promise<Awaited<ReturnType<Shop['order']>>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const order = await this.order(id);
      if (order.status !== 'PENDING') return order;
      if (Date.now() > until) throw new Error(`order ${id} still PENDING after ${timeoutMs} ms: ${JSON.stringify(order.history)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stock(sku: string): Promise<{ available: number; reserved: number }> {
    return (await this.http().get(`/inventory/items/${sku}`).expect(200)).body;
  }

  async balance(customerId: string): Promise<number> {
    return (await this.http().get(`/billing/accounts/${customerId}`).expect(200)).body.balanceCents;
  }

  async ledgerBalanced(): Promise<boolean> {
    return (await this.http().get('/billing/ledger/verification').expect(200)).body.balanced;
  }
}

/** Waits until `check` passes (for effects that follow an order's terminal state, such as committing stock). */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
