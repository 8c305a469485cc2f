// The order saga as one DBOS workflow: place → reserve stock → capture payment → confirm → commit stock.
// DBOS checkpoints every step in its system database, so after a crash the workflow resumes at the first step
// without a recorded result. Compensation is DBOS's way: try/catch around a forward step, then its undo steps.
import { DBOS } from '@dbos-inc/dbos-sdk';

/** The monolith's defaults for steps that must not give up (SAGA_STEP_TIMEOUT_MS, doubling up to 60 s). */
const RETRY = { firstMs: 5_000, maxMs: 60_000 };

export function defineOrderSaga(steps) {
  /** For the steps that must happen (undo steps, the stock commit): again after a durable sleep, until it succeeds. */
  async function untilDone(step, ...args) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step(...args);
      } catch (error) {
        DBOS.logger.warn(`${step.name} of workflow ${DBOS.workflowID} failed (attempt ${attempt}), trying again: ${error.message}`);
        await DBOS.sleep(Math.min(RETRY.firstMs * 2 ** (attempt - 1), RETRY.maxMs));
      }
    }
  }

  const cancel = (orderId, reason, notes) => untilDone(steps.cancelOrder, orderId, reason, notes);

  async function orderSaga(orderId, customerId, lines) {
    await steps.placeOrder(orderId, customerId, lines, DBOS.workflowID);

    let reservation;
    try {
      reservation = await steps.reserveStock(orderId, lines);
    } catch (error) {
      await untilDone(steps.releaseStock, orderId); // whatever it may have reserved
      await cancel(orderId, 'TIMED_OUT', [['Reservation failed', `Inventory could not reserve the stock: ${error.message}`]]);
      return 'CANCELLED';
    }
    if (!reservation.ok) {
      const what = reservation.shortages.map((s) => s.sku).join(', ') || 'the items';
      await cancel(orderId, 'OUT_OF_STOCK', [['Out of stock', `Not enough stock of ${what}. Nothing was reserved or charged.`]]);
      return 'CANCELLED';
    }

    let payment = { captured: true, entryId: null }; // an order of free items has nothing to pay
    if (reservation.totalCents > 0) {
      try {
        payment = await steps.capturePayment(orderId, customerId, reservation.totalCents);
      } catch (error) {
        await untilDone(steps.refundPayment, orderId, 'the capture failed'); // whatever it may have taken
        await untilDone(steps.releaseStock, orderId);
        await cancel(orderId, 'TIMED_OUT', [['Payment failed', `Billing could not take the payment: ${error.message}`]]);
        return 'CANCELLED';
      }
    }
    if (!payment.captured) {
      await untilDone(steps.releaseStock, orderId);
      await cancel(orderId, 'PAYMENT_DECLINED', [
        ['Payment declined', `${payment.detail ?? 'The payment was declined.'} Nothing was charged.`],
      ]);
      return 'CANCELLED';
    }

    await untilDone(steps.confirmOrder, orderId, reservation, payment.entryId);
    await untilDone(steps.commitStock, orderId);
    return 'CONFIRMED';
  }

  return { orderSaga: DBOS.registerWorkflow(orderSaga, { name: 'orderSaga' }) };
}
