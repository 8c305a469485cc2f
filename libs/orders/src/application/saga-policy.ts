import type { SagaPolicy } from '../domain/saga';

/** Injection token of the saga's timing. Without it, DEFAULT_SAGA_POLICY applies. */
export const ORDER_SAGA_POLICY = Symbol('ORDER_SAGA_POLICY');

/** Production timing: 5 s per forward step, 3 sends, compensations retried with a back-off of at most a minute. */
export const DEFAULT_SAGA_POLICY: SagaPolicy = { stepTimeoutMs: 5_000, maxAttempts: 3, maxRetryDelayMs: 60_000 };

/** The default policy with `overrides` applied; refuses values that would make the saga spin or never time out. */
export function sagaPolicy(overrides: Partial<SagaPolicy> = {}): SagaPolicy {
  const policy = { ...DEFAULT_SAGA_POLICY, ...overrides };
  const check = (name: keyof SagaPolicy, min: number, max: number) => {
    const value = policy[name];
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new RangeError(`orders saga policy: ${name} must be a whole number from ${min} to ${max}, got ${value}`);
  };
  check('stepTimeoutMs', 1, 3_600_000);
  check('maxAttempts', 1, 100);
  check('maxRetryDelayMs', 1, 86_400_000);
  return policy;
}
