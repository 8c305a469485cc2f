/** Failures a caller can act on. The HTTP layer maps them to problem responses. */
export class SkuAlreadyExists extends Error {
  constructor(readonly sku: string) {
    super(`An item with sku '${sku}' already exists. Restock it instead, or choose another sku.`);
  }
}

export class UnknownSku extends Error {
  constructor(readonly sku: string) {
    super(`No item has sku '${sku}'. Create it first with POST /inventory/items.`);
  }
}

export class UnknownReservation extends Error {
  constructor(readonly orderId: string) {
    super(`No stock is reserved for order ${orderId}.`);
  }
}

export class StockLimitExceeded extends Error {}
