// Steady open-loop load: order i is due at t0 + i/rate whether or not earlier ones were answered, from customers
// with enough money, for items with enough stock; some orders are cancelled a moment later. Each request is a
// client that retries with the same Idempotency-Key until it gets an answer (a killed process, a restarting
// database), bounded in time, as a real client would.
import { randomInt, randomUUID } from 'node:crypto';
import { sleep } from '../harness/infra.mjs';
import { customer, sku } from '../harness/workload.mjs';

/** How long one client keeps retrying a request before it gives up (and records it as abandoned). */
const RETRY_FOR_MS = 90_000;

export class Load {
  /** targets() → the URLs that take orders now (the live monolith instances). */
  constructor({ targets, rate, customers, skus, prefix, cancelShare }) {
    Object.assign(this, { targets, rate, customers, skus, prefix, cancelShare });
    this.orders = [];
    this.cancels = [];
    this.rejected = [];
    this.inFlight = new Set();
    this.stats = { sent: 0, accepted: 0, retries: 0, abandoned: 0, cancels: 0 };
    this.next = 0;
  }

  start() {
    this.running = true;
    const t0 = Date.now() + 50;
    this.loop = (async () => {
      while (this.running) {
        const due = t0 + (this.stats.sent * 1000) / this.rate;
        if (due > Date.now()) await sleep(due - Date.now());
        if (!this.running) break;
        this.track(this.place(due));
      }
    })();
  }

  /** Stops offering orders and waits for every client to get its answer (or give up). */
  async stop() {
    this.running = false;
    await this.loop;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  track(promise) {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  async place(intended) {
    this.stats.sent++;
    const order = {
      key: randomUUID(),
      intended,
      customerId: customer(randomInt(this.customers), this.prefix),
      lines: [{ sku: sku(randomInt(this.skus), this.prefix), quantity: 1 + randomInt(3) }],
    };
    this.orders.push(order);
    const answer = await this.request('POST', '/orders', { customerId: order.customerId, lines: order.lines }, order.key);
    if (!answer.ok) return void (order.failure = answer.failure);
    order.id = answer.body.id;
    order.acceptedAt = Date.now();
    this.stats.accepted++;
    if (Math.random() < this.cancelShare) {
      await sleep(randomInt(2_000));
      const cancel = { orderId: order.id, key: randomUUID() };
      this.cancels.push(cancel);
      const done = await this.request('POST', `/orders/${order.id}/cancel`, undefined, cancel.key);
      if (done.ok) {
        cancel.acceptedAt = Date.now();
        this.stats.cancels++;
      } else cancel.failure = done.failure;
    }
  }

  /** One client's request: retried with the same key on no answer, 5xx and 409 (still in flight), until 2xx. */
  async request(method, pathname, body, key) {
    const until = Date.now() + RETRY_FOR_MS;
    let last = 'no instance to send to';
    for (let attempt = 0; Date.now() < until; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        await sleep(Math.min(1_000, 100 * 2 ** Math.min(attempt, 4)));
      }
      const urls = this.targets();
      if (urls.length === 0) continue;
      try {
        const res = await fetch(urls[attempt % urls.length] + pathname, {
          method,
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (res.ok) return { ok: true, body: JSON.parse(text) };
        last = `HTTP ${res.status}: ${text.slice(0, 200)}`;
        if (res.status !== 409 && res.status < 500) {
          this.rejected.push({ method, pathname, key, reason: last });
          return { ok: false, failure: last };
        }
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
    }
    this.stats.abandoned++;
    return { ok: false, failure: `abandoned after ${RETRY_FOR_MS / 1000} s: ${last}` };
  }
}
