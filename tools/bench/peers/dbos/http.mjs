// The part of the monolith's HTTP API that the benchmark's workload uses (tools/harness/workload.mjs), with
// the same validation rules (libs/*/src/http/*.schemas.ts) and RFC 9457 problem+json errors.
import { DBOS } from '@dbos-inc/dbos-sdk';
import express from 'express';
import { v5 as uuidv5 } from 'uuid';
import { z } from 'zod';

/** Order ids are derived from the Idempotency-Key, so a repeated request answers with the id of the first. */
const ORDER_ID_NAMESPACE = 'a4f3c1e2-7b5d-4e9a-8c21-3d6f0b9e7a54';

const Cents = z.number().int().min(1).max(10_000_000_000);
const Quantity = z.number().int().min(1).max(1_000_000);
const Sku = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 letters, digits, dots, dashes or underscores');
const CustomerId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 letters, digits, dots, dashes or underscores');
const IdempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'send a unique Idempotency-Key header (1–255 visible ASCII characters)');
const PlaceOrder = z.strictObject({
  customerId: CustomerId,
  lines: z
    .array(z.strictObject({ sku: Sku, quantity: Quantity }))
    .min(1)
    .max(50),
});
const CreateItem = z.strictObject({
  sku: Sku,
  name: z.string().trim().min(1).max(200),
  priceCents: Cents,
  quantity: Quantity.or(z.literal(0)),
});
const OpenAccount = z.strictObject({ customerId: CustomerId });
const Deposit = z.strictObject({ amountCents: Cents });

class Problem extends Error {
  constructor(status, type, detail) {
    super(detail);
    Object.assign(this, { status, type });
  }
}

function valid(schema, value, where) {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw new Problem(400, 'validation-failed', detail);
}

export function httpApp({ orderSaga, shop, depositWorkflow, ready }) {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  const route = (fn) => (req, res, next) => fn(req, res).catch(next);

  app.get('/health/ready', (_req, res) => (ready() ? res.json({ status: 'ok' }) : res.status(503).json({ status: 'starting' })));

  app.post(
    '/orders',
    route(async (req, res) => {
      const key = valid(IdempotencyKey, req.get('idempotency-key'), 'header Idempotency-Key');
      const order = valid(PlaceOrder, req.body, 'body');
      const id = uuidv5(key, ORDER_ID_NAMESPACE);
      // Durable before the answer: the workflow's status row is committed here; its steps run after (as the monolith's saga).
      await DBOS.startWorkflow(orderSaga, { workflowID: key })(id, order.customerId, order.lines);
      res.status(202).location(`/orders/${id}`).json({ id, status: 'PENDING' });
    }),
  );

  app.post(
    '/inventory/items',
    route(async (req, res) => {
      const item = await shop.createItem(valid(CreateItem, req.body, 'body'));
      if (!item) throw new Problem(409, 'sku-exists', `An item with sku '${req.body.sku}' exists already.`);
      res.status(201).json(item);
    }),
  );

  app.post(
    '/billing/accounts',
    route(async (req, res) => {
      const { customerId } = valid(OpenAccount, req.body, 'body');
      if (!(await shop.openAccount(customerId)))
        throw new Problem(409, 'account-exists', `Customer '${customerId}' has an account already.`);
      res.status(201).json({ customerId, balanceCents: 0 });
    }),
  );

  app.post(
    '/billing/accounts/:customerId/deposits',
    route(async (req, res) => {
      const key = valid(IdempotencyKey, req.get('idempotency-key'), 'header Idempotency-Key');
      const customerId = valid(CustomerId, req.params.customerId, 'path customerId');
      const { amountCents } = valid(Deposit, req.body, 'body');
      // once per key: the workflow id is the key (scoped), and a repeat gets the first result
      const result = await DBOS.withNextWorkflowID(`billing.deposit:${key}`, () => depositWorkflow(customerId, amountCents));
      if (!result)
        throw new Problem(404, 'unknown-account', `Customer '${customerId}' has no account: open one with POST /billing/accounts.`);
      res.status(201).json(result);
    }),
  );

  app.use((req, _res, next) => next(new Problem(404, 'not-found', `No route ${req.method} ${req.path} in the DBOS peer.`)));
  app.use((error, _req, res, _next) => {
    const p = error instanceof Problem ? error : new Problem(error.status === 400 ? 400 : 500, 'internal', error.message);
    if (p.status >= 500) console.error(error);
    res
      .status(p.status)
      .type('application/problem+json')
      .json({ type: `about:blank#${p.type}`, title: p.type, status: p.status, detail: p.message });
  });
  return app;
}
