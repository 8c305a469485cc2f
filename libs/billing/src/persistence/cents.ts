/**
 * pg returns bigint columns as strings. Amounts and balances are capped far below 2^53, so they convert
 * exactly; a value that does not is a bug, and failing beats silently rounding money.
 */
export function centsFromDb(value: string | number | bigint): number {
  const cents = Number(value);
  if (!Number.isSafeInteger(cents)) throw new RangeError(`${value} cents is not an exact JavaScript integer`);
  return cents;
}

export function nullableCents(value: string | number | null): number | null {
  return value === null ? null : centsFromDb(value);
}
