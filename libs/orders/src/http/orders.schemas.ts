import { QuantitySchema, TextSchema } from '@app/platform';
import { z } from 'zod';
import { CANCEL_REASONS, SAGA_COMMANDS, SAGA_STEPS } from '../domain/order';

export const OrderIdSchema = z.uuid({ error: 'must be a UUID' });

/** The same rule as inventory's sku (orders cannot import inventory's internals, only its contracts). */
export const SkuSchema = TextSchema.regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  'must be 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
);

export const CustomerIdSchema = TextSchema.regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 letters, digits, dots, dashes or underscores');

export const OrderLineSchema = z.strictObject({ sku: SkuSchema, quantity: QuantitySchema });

/** POST /orders (with the saga wiring). Prices are not sent: inventory prices the lines when it reserves them. */
export const PlaceOrderSchema = z.strictObject({
  customerId: CustomerIdSchema,
  lines: z
    .array(OrderLineSchema, { error: 'must be a list of lines' })
    .min(1, 'must have at least one line')
    .max(50, 'must have at most 50 lines')
    .describe(
      'The lines of one sku add up to at most 1,000,000 and all lines to at most 4,194,304 items, so that the total stays exact at any price (422 otherwise).',
    ),
});
export type PlaceOrderBody = z.infer<typeof PlaceOrderSchema>;

export const AttentionSchema = z.object({
  reason: z.string(),
  since: z.iso.datetime(),
  step: z.enum(SAGA_STEPS),
});

export const CancellationSchema = z.object({
  requestedAt: z.iso.datetime().nullable(),
  reason: z.enum(CANCEL_REASONS),
  state: z.literal('IN_PROGRESS'),
});

export const OrderViewSchema = z.object({
  id: z.uuid(),
  customerId: z.string(),
  status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']),
  totalCents: z.number().int().nullable().describe('null until inventory has priced the lines'),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int().optional() })),
  reason: z.enum(CANCEL_REASONS).optional().describe('only when CANCELLED'),
  waiting: z
    .object({
      step: z.enum(SAGA_STEPS),
      on: z.array(z.enum(['inventory', 'billing'])),
      state: z
        .enum(['REPLY', 'UNREACHABLE', 'DEAD_LETTER'])
        .describe('REPLY: delivered, answer awaited; UNREACHABLE: not delivered after the re-send interval; DEAD_LETTER: delivery gave up'),
      since: z.iso.datetime().optional().describe('since when the request waits undelivered'),
      detail: z.string(),
    })
    .optional()
    .describe('only while the order waits on another module and is not parked; derived when read'),
  cancellation: CancellationSchema.optional().describe('only while a cancellation is under way (e.g. a CONFIRMED order being refunded)'),
  attention: AttentionSchema.optional().describe('only while the order is parked for an operator: POST /admin/orders/{id}/retry'),
  history: z
    .array(z.object({ at: z.iso.datetime(), event: z.string(), detail: z.string() }))
    .describe('what happened and why, oldest first'),
});

/** GET /admin/orders/attention: the parked orders, oldest first. */
export const AttentionListSchema = z.object({
  items: z.array(
    z.object({
      id: z.uuid(),
      customerId: z.string(),
      status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']),
      awaiting: z.array(z.enum(SAGA_COMMANDS)),
      attention: AttentionSchema,
    }),
  ),
  limit: z.number().int(),
});

export const AttentionQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });
