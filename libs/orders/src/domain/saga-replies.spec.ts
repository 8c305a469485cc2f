import { type SagaInput, decide } from './saga';
import { ORDER_ID, Saga, names, unchanged } from './saga.test-kit';

describe('customer cancel', () => {
  it('while reserving: releases, then CANCELLED CUSTOMER_REQUEST', () => {
    const s = Saga.placed();
    expect(s.on({ type: 'CancelRequested' }).commands).toEqual([
      { name: 'ReleaseStock', messageId: 'msg-2', payload: { orderId: ORDER_ID } },
    ]);
    expect(s.view).toMatchObject({ status: 'PENDING', step: 'COMPENSATING' });
    expect(s.history.at(-1)).toMatchObject({ event: 'Cancellation requested' });
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
    expect(s.last.events).toEqual([{ name: 'OrderCancelled', payload: { orderId: ORDER_ID, reason: 'CUSTOMER_REQUEST' } }]);
  });

  it('while capturing: refunds and releases; the acknowledgements may come in any order', () => {
    const s = Saga.placed();
    s.reserved();
    expect(s.on({ type: 'CancelRequested' }).commands).toEqual([
      { name: 'RefundPayment', messageId: 'msg-3', payload: { orderId: ORDER_ID, reason: 'CUSTOMER_REQUEST' } },
      { name: 'ReleaseStock', messageId: 'msg-4', payload: { orderId: ORDER_ID } },
    ]);
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: '0190a5e0-0000-7000-8000-00000000e002' });
    expect(s.view).toMatchObject({ status: 'PENDING', awaiting: ['ReleaseStock'] });
    expect(s.history.at(-1)!.detail).toBe(
      "2,500 cents were refunded to the customer's account (ledger entry 0190a5e0-0000-7000-8000-00000000e002).",
    );
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
  });

  it('while a compensation is under way: a no-op, and the first reason wins', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'too little' });
    unchanged(s.on({ type: 'CancelRequested' }));
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
  });

  it('twice, or of a cancelled order: a no-op', () => {
    const s = Saga.placed();
    s.on({ type: 'CancelRequested' });
    unchanged(s.on({ type: 'CancelRequested' }));
    s.on({ type: 'StockReleased' });
    unchanged(s.on({ type: 'CancelRequested' }));
    expect(s.events).toEqual(['OrderPlaced', 'OrderCancelled']);
  });

  it('of a confirmed order: refunds and returns the stock; CONFIRMED until both are acknowledged', () => {
    const s = Saga.placed();
    s.reserved();
    s.captured();
    s.on({ type: 'StockCommitted' });
    const cancel = s.on({ type: 'CancelRequested' });
    expect(cancel.commands).toEqual([
      { name: 'RefundPayment', messageId: 'msg-4', payload: { orderId: ORDER_ID, reason: 'CUSTOMER_REQUEST' } },
      { name: 'ReturnStock', messageId: 'msg-5', payload: { orderId: ORDER_ID } },
    ]);
    expect(cancel.deadline).toMatchObject({ step: 'REVERSING', attempt: 1 });
    expect(s.history.at(-1)!.detail).toBe(
      'The customer asked to cancel the confirmed order. Asking billing to refund the 2,500 cents paid, and inventory to put the stock back on the shelf.',
    );
    unchanged(s.on({ type: 'CancelRequested' }));
    s.on({ type: 'StockReturned' });
    expect(s.view).toMatchObject({ status: 'CONFIRMED', step: 'REVERSING', awaiting: ['RefundPayment'] });
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: '0190a5e0-0000-7000-8000-00000000e003' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST', step: 'DONE' });
    expect(s.events).toEqual(['OrderPlaced', 'OrderConfirmed', 'OrderCancelled']);
  });

  it('of a confirmed order whose commit is not acknowledged yet: keeps the commit (same id) ahead of the return', () => {
    const s = Saga.placed();
    s.reserved();
    s.captured();
    const commitId = s.last.commands[0].messageId;
    expect(s.on({ type: 'CancelRequested' }).commands.map((c) => [c.name, c.messageId])).toEqual([
      ['CommitStock', commitId],
      ['RefundPayment', 'msg-4'],
      ['ReturnStock', 'msg-5'],
    ]);
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    s.on({ type: 'StockReturned' }); // returned stock was committed first: the commit is implied
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST', step: 'DONE' });
    unchanged(s.on({ type: 'StockCommitted' })); // its late reply changes nothing
  });
});

describe('late, repeated and reordered replies', () => {
  it('a reservation that arrives after the timeout started releasing: noted, covered by the release already sent', () => {
    const s = Saga.placed();
    s.deadline();
    s.deadline();
    s.deadline();
    const late = s.reserved();
    expect(late).toMatchObject({ changed: true, commands: [], events: [] });
    expect(s.history.at(-1)).toMatchObject({ event: 'Stock reserved late' });
    expect(s.view).toMatchObject({ status: 'PENDING', totalCents: null, step: 'COMPENSATING', awaiting: ['ReleaseStock'] });
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT' });
    unchanged(s.reserved()); // redelivered once more after the end
    unchanged(s.on({ type: 'StockReservationFailed', reason: 'RELEASED', shortages: [] }));
  });

  it('a repeat of the reservation while its release is under way (after a decline): changes nothing', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' });
    unchanged(s.reserved());
    unchanged(s.on({ type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [] }));
  });

  it('a capture that arrives after the refund was sent: noted, covered by the refund; a late "cancelled" decline too', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'CancelRequested' });
    const late = s.captured();
    expect(late.commands).toEqual([]);
    expect(s.history.at(-1)).toMatchObject({
      event: 'Payment taken late',
      detail: 'Billing took 2,500 cents after the order had started cancelling. The refund already requested gives it back.',
    });
    s.on({ type: 'PaymentDeclined', reason: 'CANCELLED', detail: 'voided' });
    expect(s.history.at(-1)).toMatchObject({ event: 'Payment refused late' });
    expect(s.view).toMatchObject({ status: 'PENDING', awaiting: ['RefundPayment', 'ReleaseStock'] });
    s.on({ type: 'StockReleased' });
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' });
    unchanged(s.captured());
  });

  it('an out-of-stock answer after the timeout: noted; the reason stays TIMED_OUT', () => {
    const s = Saga.placed();
    s.deadline();
    s.deadline();
    s.deadline();
    s.on({ type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [{ sku: 'MUG-1', requested: 2, available: 0 }] });
    expect(s.history.at(-1)!.detail).toBe(
      'Inventory answered late: not enough stock of MUG-1 (2 wanted, none available). Nothing was reserved or charged. The cancellation already under way continues.',
    );
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'TIMED_OUT' });
  });

  it('stock reserved after an out-of-stock cancel: sends a release (and re-sends it) until acknowledged; stays CANCELLED', () => {
    const s = Saga.placed();
    s.on({ type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [] });
    const cleanup = s.reserved();
    expect(cleanup.commands).toEqual([{ name: 'ReleaseStock', messageId: 'msg-2', payload: { orderId: ORDER_ID } }]);
    expect(cleanup.events).toEqual([]);
    expect(cleanup.deadline).toMatchObject({ step: 'CLEANUP', attempt: 1 });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK', totalCents: null, step: 'CLEANUP' });
    expect(s.deadline().commands).toEqual(cleanup.commands);
    unchanged(s.reserved()); // the release is under way
    s.on({ type: 'StockReleased' });
    expect(s.view).toMatchObject({ status: 'CANCELLED', step: 'DONE' });
    expect(s.events).toEqual(['OrderPlaced', 'OrderCancelled']);
  });

  it('a capture reported after a decline: the refund joins the compensation, which completes only with both replies', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' });
    const refund = s.captured();
    expect(refund.commands).toEqual([
      { name: 'RefundPayment', messageId: 'msg-4', payload: { orderId: ORDER_ID, reason: 'PAYMENT_DECLINED' } },
    ]);
    expect(s.view).toMatchObject({ status: 'PENDING', awaiting: ['ReleaseStock', 'RefundPayment'] });
    expect(s.deadline().commands.map((c) => c.name)).toEqual(['ReleaseStock', 'RefundPayment']);
    s.on({ type: 'StockReleased' });
    expect(s.view.status).toBe('PENDING');
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    expect(s.view).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
  });

  it('a capture reported after a declined order was cancelled: a cleanup refund', () => {
    const s = Saga.placed();
    s.reserved();
    s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' });
    s.on({ type: 'StockReleased' });
    expect(names(s.captured())).toEqual(['RefundPayment']);
    expect(s.view).toMatchObject({ status: 'CANCELLED', step: 'CLEANUP' });
    s.on({ type: 'PaymentRefunded', refundedCents: 2_500, entryId: null });
    expect(s.view).toMatchObject({ status: 'CANCELLED', step: 'DONE' });
  });

  it('repeats of replies already applied change nothing', () => {
    const s = Saga.placed();
    s.reserved();
    unchanged(s.reserved());
    s.captured();
    unchanged(s.reserved());
    unchanged(s.captured());
    unchanged(s.on({ type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'x' }));
    s.on({ type: 'StockCommitted' });
    unchanged(s.on({ type: 'StockCommitted' }));
    expect(s.events).toEqual(['OrderPlaced', 'OrderConfirmed']);
  });

  it('replies to commands never sent change nothing', () => {
    const s = Saga.placed();
    for (const input of [
      { type: 'StockReleased' },
      { type: 'StockReturned' },
      { type: 'StockCommitted' },
      { type: 'PaymentRefunded', refundedCents: 0, entryId: null },
      { type: 'PaymentCaptured', amountCents: 1, entryId: 'x' },
      { type: 'PaymentDeclined', reason: 'NO_ACCOUNT', detail: '' },
    ] as SagaInput[]) {
      unchanged(s.on(input));
    }
    s.reserved();
    unchanged(s.on({ type: 'StockReleased' }));
    unchanged(s.on({ type: 'PaymentRefunded', refundedCents: 0, entryId: null }));
  });

  it('a "released" refusal while reserving is noted and left to the deadline, which cancels after a release', () => {
    const s = Saga.placed();
    s.on({ type: 'StockReservationFailed', reason: 'RELEASED', shortages: [] });
    expect(s.view).toMatchObject({ status: 'PENDING', step: 'RESERVING' });
    expect(s.history.at(-1)).toMatchObject({ event: 'Reservation refused' });
    s.deadline();
    s.deadline();
    expect(names(s.deadline())).toEqual(['ReleaseStock']);
  });

  it('never changes the order it was given', () => {
    const s = Saga.placed();
    const before = structuredClone(s.order);
    decide(s.order, { type: 'CancelRequested' }, s.ctx());
    expect(s.order).toEqual(before);
  });
});
