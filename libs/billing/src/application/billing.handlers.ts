import { HandleMessage, type MessageContext, MessageConsumer, type PayloadOf } from '@app/platform';
import { Injectable } from '@nestjs/common';
import { CapturePayment, PaymentCaptured, PaymentDeclined, PaymentRefunded, RefundPayment } from '../contracts';
import { BillingService } from './billing.service';

/**
 * Every command here is answered idempotently from this module's own state (a repeat returns the first outcome),
 * so a duplicate runs the handler again to re-emit its reply: the saga re-sends under the same message id when its
 * reply was lost (e.g. dead-lettered), and would otherwise wait for ever.
 */
const REPLY_AGAIN = { onDuplicate: 'rerun' } as const;

/**
 * Billing's side of the order saga. Each handler runs in one billing transaction together with its inbox
 * row, and replies through billing's outbox in that same transaction.
 */
@MessageConsumer('billing')
@Injectable()
export class BillingHandlers {
  constructor(private readonly billing: BillingService) {}

  @HandleMessage(CapturePayment, REPLY_AGAIN)
  async capture(payment: PayloadOf<typeof CapturePayment>, { tx, outbox }: MessageContext): Promise<void> {
    const key = { key: payment.orderId };
    let outcome: Awaited<ReturnType<BillingService['capturePayment']>>;
    try {
      outcome = await this.billing.capturePayment(tx, payment);
    } catch (error) {
      // An amount beyond what one payment may move can never succeed: decline instead of retrying.
      if (!(error instanceof RangeError)) throw error;
      outcome = { outcome: 'declined', reason: 'INSUFFICIENT_FUNDS', detail: error.message };
    }
    if (outcome.outcome === 'captured') {
      await outbox.add(PaymentCaptured, { ...payment, entryId: outcome.entryId }, key);
    } else {
      await outbox.add(PaymentDeclined, { orderId: payment.orderId, reason: outcome.reason, detail: outcome.detail.slice(0, 500) }, key);
    }
  }

  @HandleMessage(RefundPayment, REPLY_AGAIN)
  async refund(refund: PayloadOf<typeof RefundPayment>, { tx, outbox }: MessageContext): Promise<void> {
    const outcome = await this.billing.refundPayment(tx, refund);
    await outbox.add(PaymentRefunded, { orderId: refund.orderId, ...outcome }, { key: refund.orderId });
  }
}
