/**
 * The saga's arithmetic of patience. A forward step (RESERVING, CAPTURING) has its own deadline and shares the
 * order's; both are spent only by deadlines that fired, and a deadline's timer starts when its command was
 * delivered, so the patience used is the time the other module had the command in hand. Compensations (and the
 * stock commit) are re-sent with a doubling delay up to a ceiling, a bounded number of times.
 */
import type { SagaState, SagaStep } from './order';
import { FORWARD_STEPS, type SagaPolicy } from './saga-types';

/** The deadline of a forward step, by the policy; null for the steps that do not give up. */
export function stepDeadlineOf(step: SagaStep, policy: SagaPolicy): number | null {
  if (step === 'RESERVING') return policy.reserveDeadlineMs;
  if (step === 'CAPTURING') return policy.paymentDeadlineMs;
  return null;
}

/** What is left of the current forward step's patience and of the order's (ms; ≤ 0 once passed). */
export function patienceLeft(saga: SagaState, policy: SagaPolicy): { stepMs: number; orderMs: number } {
  const stepDeadline = stepDeadlineOf(saga.step, policy) ?? Infinity;
  return { stepMs: stepDeadline - (saga.stepWaitedMs ?? 0), orderMs: policy.orderDeadlineMs - (saga.orderWaitedMs ?? 0) };
}

/** Counts the deadline that just fired as patience used (orders saved before the count was kept: one interval). */
export function countFiredDeadline(saga: SagaState, policy: SagaPolicy): void {
  const counted = saga.deadlineDelayMs ?? policy.stepTimeoutMs;
  saga.stepWaitedMs = (saga.stepWaitedMs ?? 0) + counted;
  saga.orderWaitedMs = (saga.orderWaitedMs ?? 0) + counted;
}

/** The delay of the current step's next deadline, counted from the delivery of its commands. */
export function nextDelayMs(saga: SagaState, policy: SagaPolicy): number {
  const { stepTimeoutMs, maxRetryDelayMs } = policy;
  if (FORWARD_STEPS.includes(saga.step)) {
    // the last wait ends exactly at the nearer deadline, so a 2-minute deadline is 2 minutes whatever the interval
    const { stepMs, orderMs } = patienceLeft(saga, policy);
    return Math.max(0, Math.min(stepTimeoutMs, stepMs, orderMs));
  }
  return Math.min(stepTimeoutMs * 2 ** Math.max(0, saga.attempt - 1), Math.max(maxRetryDelayMs, stepTimeoutMs));
}

/** Whether a re-send is worth a history entry: the 2nd, 4th, 8th, ... so a long wait does not flood the history. */
export function worthNoting(attempt: number): boolean {
  return (attempt & (attempt - 1)) === 0;
}
