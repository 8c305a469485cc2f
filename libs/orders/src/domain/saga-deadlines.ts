/** What the saga does when a step's deadline fires, and when an operator resumes a parked order. */
import type { Draft } from './saga-draft';
import { countFiredDeadline, patienceLeft, stepDeadlineOf, worthNoting } from './saga-patience';
import type { SagaInput } from './saga-types';
import * as say from './wording';

export function onDeadline(d: Draft, input: Extract<SagaInput, { type: 'Deadline' }>): void {
  const { saga } = d;
  const policy = d.ctx.policy;
  if (saga.step === 'DONE' || saga.attention || input.step !== saga.step || input.attempt !== saga.attempt) return; // stale
  if (saga.step === 'RESERVING' || saga.step === 'CAPTURING') {
    countFiredDeadline(saga, policy);
    const left = patienceLeft(saga, policy);
    if (left.stepMs > 0 && left.orderMs > 0) {
      if (worthNoting(saga.attempt + 1)) d.note('No answer yet', say.retrying(saga.step, saga.attempt + 1, saga.stepWaitedMs ?? 0));
      d.resend();
      return;
    }
    const passed =
      left.stepMs <= 0
        ? { deadline: 'step' as const, ms: stepDeadlineOf(saga.step, policy)! }
        : { deadline: 'order' as const, ms: policy.orderDeadlineMs };
    d.note('Timed out', say.timedOut(saga.step, passed.deadline, passed.ms, saga.attempt));
    d.compensate('TIMED_OUT', saga.step === 'RESERVING' ? ['ReleaseStock'] : ['RefundPayment', 'ReleaseStock']);
    return;
  }
  // Compensations and the stock commit: an order must not be left holding stock or money, so they are re-sent with
  // back-off; after the bound, an operator decides (a receiver that keeps failing shows in its dead letters).
  if (saga.attempt >= policy.compensationAttempts) {
    d.park(say.attentionReason(saga.awaiting, saga.attempt));
    d.note('Needs attention', say.parked(saga.awaiting, saga.attempt));
    return;
  }
  d.resend();
  if (worthNoting(saga.attempt)) d.note('Still waiting', say.stillWaiting(saga.awaiting, saga.attempt));
}

/** An operator resumes a parked order: its unanswered commands go out again and the back-off starts over. */
export function onRetryRequested(d: Draft, input: Extract<SagaInput, { type: 'RetryRequested' }>): void {
  const { saga } = d;
  if (!saga.attention) return; // not parked: the saga is re-sending on its own (or has nothing to wait for)
  d.note('Retry requested', say.retried(input.by, saga.awaiting));
  saga.attention = null;
  saga.attempt = 0;
  d.resend();
}
