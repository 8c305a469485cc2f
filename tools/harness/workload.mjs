// The workload: catalogue and customers over HTTP, then orders offered at a fixed arrival rate (open loop).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sleep } from './infra.mjs';

export const SKU_STOCK = 1_000_000;
export const PRICE_CENTS = 100;
/** Far more than every order of a run costs, so no payment is declined: the happy path is what is measured. */
export const DEPOSIT_CENTS = 10_000_000_000;

export const sku = (i, prefix = 'BENCH') => `${prefix}-SKU-${i}`;
export const customer = (i, prefix = 'BENCH') => `${prefix.toLowerCase()}-customer-${i}`;

async function call(method, url, body, expected) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${method} ${url} answered ${res.status} (expected ${expected}): ${text.slice(0, 300)}`);
  return text;
}

/**
 * Items with big stock at `ordersUrl`'s inventory, accounts with huge deposits at `billingUrl` (8 requests at a
 * time). `prefix` names them (`<prefix>-SKU-<i>`, `<prefix lower-case>-customer-<i>`).
 */
export async function setUpShop({
  ordersUrl,
  billingUrl,
  skus,
  customers,
  prefix = 'BENCH',
  stock = SKU_STOCK,
  depositCents = DEPOSIT_CENTS,
}) {
  const tasks = [
    ...Array.from(
      { length: skus },
      (_, i) => () =>
        call(
          'POST',
          `${ordersUrl}/inventory/items`,
          { sku: sku(i, prefix), name: `${prefix} item ${i}`, priceCents: PRICE_CENTS, quantity: stock },
          201,
        ),
    ),
    ...Array.from({ length: customers }, (_, i) => async () => {
      await call('POST', `${billingUrl}/billing/accounts`, { customerId: customer(i, prefix) }, 201);
      await call('POST', `${billingUrl}/billing/accounts/${customer(i, prefix)}/deposits`, { amountCents: depositCents }, 201);
    }),
  ];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/**
 * Offers `rate` orders per second for `warmupS + measureS` seconds: order i is sent at t0 + i/rate whether or
 * not earlier ones were answered (wrk2's model; a keep-alive agent with enough sockets that sending never
 * waits for a free connection). Each order keeps its intended and actual send times and the time its 202
 * arrived (performance.now(), ms). Then waits for the last answers and for the saga to settle.
 *
 * hooks: onPhase(name), synchronous, at 'measure' (first measured order is due) and 'settle' (last order sent);
 * progress(snapshot) every second; pending() → orders not yet settled (PENDING), polled while settling.
 */
export async function offerOrders({ ordersUrl, rate, warmupS, measureS, skus, customers, graceS, hooks }) {
  const total = Math.round(rate * (warmupS + measureS));
  const warmup = Math.round(rate * warmupS);
  const intended = new Float64Array(total);
  const actual = new Float64Array(total);
  const answered = new Float64Array(total);
  const ids = new Array(total).fill(null);
  const errors = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048, maxFreeSockets: 512 });
  const url = new URL('/orders', ordersUrl);
  const stats = { sent: 0, accepted: 0, answered: 0, errors: 0 };
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });

  const fire = (i) => {
    const body = JSON.stringify({ customerId: customer(i % customers), lines: [{ sku: sku(i % skus), quantity: 1 }] });
    const fail = (message) => {
      if (answered[i] > 0) return;
      answered[i] = performance.now();
      stats.answered++;
      stats.errors++;
      errors.push({ i, message });
    };
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': randomUUID() },
        timeout: 30_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', (e) => fail(`response: ${e.message}`));
        res.on('end', () => {
          const at = performance.now();
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 202) return fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
          try {
            ids[i] = JSON.parse(text).id;
          } catch {
            return fail(`202 with an unreadable body: ${text.slice(0, 200)}`);
          }
          answered[i] = at;
          stats.answered++;
          stats.accepted++;
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => fail(e.message));
    actual[i] = performance.now();
    req.end(body);
  };

  let phase = warmup > 0 ? 'warm-up' : 'measure';
  const t0 = performance.now() + 200;
  const startedAt = Date.now();
  const ticker = setInterval(() => hooks.progress?.({ phase, ...stats, elapsedS: (Date.now() - startedAt) / 1000 }), 1_000);
  try {
    loopDelay.enable();
    if (warmup === 0) hooks.onPhase?.('measure');
    const due = (i) => t0 + (i * 1000) / rate;
    while (stats.sent < total) {
      const now = performance.now();
      while (stats.sent < total && due(stats.sent) <= now) {
        const i = stats.sent++;
        intended[i] = due(i);
        fire(i);
        if (i + 1 === warmup) {
          phase = 'measure';
          hooks.onPhase?.('measure'); // synchronous: must not hold up the schedule
        }
      }
      if (stats.sent < total) await sleep(Math.max(0, due(stats.sent) - performance.now()));
    }
    loopDelay.disable();
    phase = 'settle';
    hooks.onPhase?.('settle');
    const lastSent = performance.now();
    // every request has a 30 s socket timeout, so this ends
    while (stats.answered < total) await sleep(20);
    let unsettled = await hooks.pending();
    while (unsettled > 0 && performance.now() - lastSent < graceS * 1000) {
      await sleep(250);
      unsettled = await hooks.pending();
    }
    return {
      total,
      warmup,
      t0,
      windowStart: due(warmup),
      windowEnd: due(warmup) + measureS * 1000,
      intended,
      actual,
      answered,
      ids,
      errors,
      unsettledAfterGrace: unsettled,
      loopDelay: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    };
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
}
