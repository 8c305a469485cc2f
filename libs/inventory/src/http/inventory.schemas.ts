import { CentsSchema, QuantitySchema } from '@app/platform';
import { z } from 'zod';

export const SkuSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit');

export const CreateItemSchema = z.strictObject({
  sku: SkuSchema,
  name: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  priceCents: CentsSchema,
  quantity: QuantitySchema.or(z.literal(0)),
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
