/** Failures a caller can act on. The HTTP layer maps them to problem responses. */
export class AccountAlreadyOpen extends Error {
  constructor(readonly customerId: string) {
    super(`Customer '${customerId}' already has an account. Deposit into it with POST /billing/accounts/${customerId}/deposits.`);
  }
}

export class UnknownAccount extends Error {
  constructor(readonly customerId: string) {
    super(`Customer '${customerId}' has no account. Open one first with POST /billing/accounts.`);
  }
}

export class BalanceLimitExceeded extends Error {
  constructor(
    readonly customerId: string,
    readonly limitCents: number,
  ) {
    super(`The deposit would take the balance of '${customerId}' above ${limitCents} cents. Deposit a smaller amount.`);
  }
}
