import type { SagaPolicy } from '../domain/saga';

/** Injection token of the saga's timing. Without it, DEFAULT_SAGA_POLICY applies. */
export const ORDER_SAGA_POLICY = Symbol('ORDER_SAGA_POLICY');

/**
 * Production patience: a re-send every 5 s; 2 min for the stock reservation, 5 min for the payment, 15 min for the
 * whole order (all counted from delivery); compensations re-sent with a doubling delay of at most a minute, 20 times
 * (about 17 minutes) before the order is parked for attention.
 */
export const DEFAULT_SAGA_POLICY: SagaPolicy = {
  stepTimeoutMs: 5_000,
  reserveDeadlineMs: 120_000,
  paymentDeadlineMs: 300_000,
  orderDeadlineMs: 900_000,
  maxRetryDelayMs: 60_000,
  compensationAttempts: 20,
};

/**
 * The saga's settings as a host passes them. `maxAttempts` is the former setting (SAGA_MAX_ATTEMPTS): when given
 * without explicit step deadlines, each forward step's deadline is `maxAttempts × stepTimeoutMs`, the moment the
 * old count-based saga gave up, so existing configurations keep their behaviour.
 */
export type SagaPolicyOptions = Partial<SagaPolicy> & { maxAttempts?: number };

/** The default policy with `overrides` applied; refuses values that would make the saga spin or never time out. */
export function sagaPolicy(overrides: SagaPolicyOptions = {}): SagaPolicy {
  const { maxAttempts, ...explicit } = Object.fromEntries(
    Object.entries(overrides).filter(([, v]) => v !== undefined),
  ) as SagaPolicyOptions;
  const stepTimeoutMs = explicit.stepTimeoutMs ?? DEFAULT_SAGA_POLICY.stepTimeoutMs;
  const fromAttempts =
    maxAttempts === undefined ? {} : { reserveDeadlineMs: maxAttempts * stepTimeoutMs, paymentDeadlineMs: maxAttempts * stepTimeoutMs };
  if (maxAttempts !== undefined && (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100))
    throw new RangeError(`orders saga policy: maxAttempts must be a whole number from 1 to 100, got ${maxAttempts}`);
  const policy: SagaPolicy = { ...DEFAULT_SAGA_POLICY, ...fromAttempts, ...explicit };
  const check = (name: keyof SagaPolicy, min: number, max: number) => {
    const value = policy[name];
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new RangeError(`orders saga policy: ${name} must be a whole number from ${min} to ${max}, got ${value}`);
  };
  check('stepTimeoutMs', 1, 3_600_000);
  check('reserveDeadlineMs', 1, 7 * 86_400_000);
  check('paymentDeadlineMs', 1, 7 * 86_400_000);
  check('orderDeadlineMs', 1, 30 * 86_400_000);
  check('maxRetryDelayMs', 1, 86_400_000);
  check('compensationAttempts', 1, 1_000);
  // the order's patience covers its steps: a smaller one would silently shorten them
  if (policy.orderDeadlineMs < Math.max(policy.reserveDeadlineMs, policy.paymentDeadlineMs) && explicit.orderDeadlineMs === undefined)
    policy.orderDeadlineMs = policy.reserveDeadlineMs + policy.paymentDeadlineMs;
  return policy;
}
