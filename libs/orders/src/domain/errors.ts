/** Failures a caller can act on. The HTTP layer maps them to problem responses. */
export class UnknownOrder extends Error {
  /**
   * A reply or deadline for an order that does not exist can never succeed on a retry (the order is written in
   * the same transaction as the first command it sends). The platform's messaging recognises this flag and
   * dead-letters such a message at once instead of retrying it.
   */
  readonly nonRetryable = true;
  constructor(readonly orderId: string) {
    super(`No order has id ${orderId}. Check the id; orders are created with POST /orders.`);
  }
}

/** The order breaks a domain rule (no lines, a bad quantity, ...). */
export class InvalidOrder extends Error {}

/** A retry of an order that is not parked for attention: its saga is re-sending on its own, or has nothing left to do. */
export class OrderNotParked extends Error {
  constructor(readonly orderId: string) {
    super(
      `Order ${orderId} is not parked for attention, so there is nothing to retry: its saga re-sends on its own or is finished. See GET /orders/${orderId}.`,
    );
  }
}
