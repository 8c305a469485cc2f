import { QuantitySchema, TextSchema } from '@app/platform';
import { z } from 'zod';
import { MAX_UNIT_PRICE_CENTS } from '../contracts';

export const SkuSchema = TextSchema.regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  'must be 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
);

/** The unit price: the price column is a PostgreSQL integer, and inventory's contracts promise this ceiling. */
export const PriceCentsSchema = z
  .number({ error: 'must be a whole number of cents' })
  .int('must be a whole number of cents')
  .positive('must be greater than zero')
  .max(MAX_UNIT_PRICE_CENTS, `must be at most ${MAX_UNIT_PRICE_CENTS.toLocaleString('en-US')} cents`);

export const CreateItemSchema = z.strictObject({
  sku: SkuSchema,
  name: TextSchema.trim()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .describe('Leading and trailing white space is removed.'),
  priceCents: PriceCentsSchema,
  quantity: z
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(1_000_000, 'must be at most 1,000,000')
    .describe('The initial stock'),
});

export const RestockSchema = z.strictObject({ quantity: QuantitySchema });

export const ItemViewSchema = z.object({
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int(),
  available: z.number().int(),
  reserved: z.number().int(),
});

export const ReservationViewSchema = z.object({
  orderId: z.uuid(),
  status: z.enum(['RESERVED', 'RELEASED', 'COMMITTED', 'RETURNED']),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() })),
});
