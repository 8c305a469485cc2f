import { CentsSchema, TextSchema } from '@app/platform';
import { z } from 'zod';

export const CustomerIdSchema = TextSchema.regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 letters, digits, dots, dashes or underscores');

export const OpenAccountSchema = z.strictObject({ customerId: CustomerIdSchema });

export const DepositSchema = z.strictObject({ amountCents: CentsSchema });

export const AccountViewSchema = z.object({ customerId: z.string(), balanceCents: z.number().int() });

export const DepositResultSchema = z.object({ balanceCents: z.number().int() });

export const LedgerVerificationSchema = z.object({
  balanced: z.boolean(),
  entries: z.number().int(),
  postings: z.number().int(),
  totalDebitsCents: z.number().int(),
  totalCreditsCents: z.number().int(),
  unbalancedEntries: z.array(z.uuid()),
  /** Customer accounts whose kept balance differs from the sum of their postings. */
  driftedAccounts: z.array(z.string()),
});
