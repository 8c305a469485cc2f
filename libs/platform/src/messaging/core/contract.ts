import type { z } from 'zod';
import { InvalidMessageError } from './errors';

/**
 * A message type as a business module declares it in its `contracts/` folder. Contracts import only zod,
 * so any `{ type, schema }` object fits; the platform reads it structurally.
 *   export const ReserveStock = { type: 'inventory.reserve-stock.v1', schema: z.object({ ... }) } as const;
 * Payloads travel as JSON: keep schemas JSON round-trippable (no transforms into Dates, Maps, ...).
 */
export interface MessageContract<S extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly schema: S;
}

/** What a producer passes to `outbox.add` for this contract. */
export type PayloadInput<C extends MessageContract> = z.input<C['schema']>;
/** What a handler receives for this contract (validated). */
export type PayloadOf<C extends MessageContract> = z.output<C['schema']>;

/** Parses a payload against its contract, or throws InvalidMessageError naming the type and every issue. */
export function parsePayload<C extends MessageContract>(contract: C, payload: unknown, where: 'publish' | 'receive'): PayloadOf<C> {
  const result = contract.schema.safeParse(payload);
  if (!result.success) throw new InvalidMessageError(contract.type, result.error.issues, where);
  return result.data as PayloadOf<C>;
}
