import { QuantitySchema, TextSchema } from '@app/platform';
import { z } from 'zod';
import { CANCEL_REASONS } from '../domain/order';

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

export const OrderViewSchema = z.object({
  id: z.uuid(),
  customerId: z.string(),
  status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']),
  totalCents: z.number().int().nullable().describe('null until inventory has priced the lines'),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int().optional() })),
  reason: z.enum(CANCEL_REASONS).optional().describe('only when CANCELLED'),
  history: z
    .array(z.object({ at: z.iso.datetime(), event: z.string(), detail: z.string() }))
    .describe('what happened and why, oldest first'),
});
