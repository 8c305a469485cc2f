import {
  ADMIN_SCOPE,
  ApiIdempotencyKey,
  ApiJsonBody,
  ApiPathParam,
  ApiResult,
  ApiSummary,
  assertMayActFor,
  Authenticated,
  CurrentPrincipal,
  IdempotencyKeySchema,
  keyOwner,
  type Principal,
  Problem,
  ValidBody,
  ValidHeader,
  ValidParam,
} from '@app/platform';
import { Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { type AccountView, BillingService, type LedgerVerification } from '../application/billing.service';
import { AccountAlreadyOpen, BalanceLimitExceeded, UnknownAccount } from '../domain/errors';
import {
  AccountViewSchema,
  CustomerIdSchema,
  DepositResultSchema,
  DepositSchema,
  LedgerVerificationSchema,
  OpenAccountSchema,
} from './billing.schemas';

/** Reads and opens any customer's account. */
export const BILLING_OPERATOR = 'billing:operator';
/** Deposits money into any account (a payment provider's callback, a back office). */
export const BILLING_DEPOSIT = 'billing:deposit';

@ApiTags('billing')
@Controller('billing')
export class BillingController {
  constructor(private readonly billing: BillingService) {}

  @Post('accounts')
  @ApiSummary('Open an account', 'For the customer in the token, or any customer with billing:operator.')
  @Authenticated()
  @ApiJsonBody(OpenAccountSchema)
  @ApiResult(201, 'The new account, with a zero balance', AccountViewSchema, [400, 409])
  async open(
    @CurrentPrincipal() principal: Principal,
    @ValidBody(OpenAccountSchema) body: z.infer<typeof OpenAccountSchema>,
  ): Promise<AccountView> {
    assertMayActFor(principal, body.customerId, BILLING_OPERATOR, 'The customerId in the body');
    return this.billing.openAccount(body.customerId).catch(toProblem);
  }

  @Post('accounts/:customerId/deposits')
  @ApiSummary('Deposit money')
  @Authenticated(BILLING_DEPOSIT)
  @ApiPathParam('customerId', CustomerIdSchema)
  @ApiIdempotencyKey()
  @ApiJsonBody(DepositSchema)
  @ApiResult(
    201,
    'The balance after the deposit (the same response when the request is repeated)',
    DepositResultSchema,
    [400, 404, 409, 422],
  )
  async deposit(
    @CurrentPrincipal() principal: Principal,
    @ValidParam('customerId', CustomerIdSchema) customerId: string,
    @ValidHeader('Idempotency-Key', IdempotencyKeySchema) key: string,
    @ValidBody(DepositSchema) body: z.infer<typeof DepositSchema>,
  ): Promise<{ balanceCents: number }> {
    return this.billing.deposit(customerId, body.amountCents, key, keyOwner(principal)).catch(toProblem);
  }

  @Get('accounts/:customerId')
  @ApiSummary("Read an account's balance", 'Your own, or any with billing:operator.')
  @Authenticated()
  @ApiPathParam('customerId', CustomerIdSchema)
  @ApiResult(200, "The account and its balance, derived from the ledger's postings", AccountViewSchema, [400, 404])
  async get(
    @CurrentPrincipal() principal: Principal,
    @ValidParam('customerId', CustomerIdSchema) customerId: string,
  ): Promise<AccountView> {
    assertMayActFor(principal, customerId, BILLING_OPERATOR, 'This account');
    return this.billing.getAccount(customerId).catch(toProblem);
  }

  /** Aggregates the whole ledger: for operators only, never for anonymous callers. */
  @Get('ledger/verification')
  @ApiSummary('Verify the ledger', 'Sums the whole ledger: admin scope only.')
  @Authenticated(ADMIN_SCOPE)
  @ApiResult(200, 'Whether every journal entry, and the ledger as a whole, sums to zero', LedgerVerificationSchema)
  async verify(): Promise<LedgerVerification> {
    return this.billing.verifyLedger();
  }
}

function toProblem(error: unknown): never {
  if (error instanceof AccountAlreadyOpen) throw Problem.conflict('account-exists', error.message, { customerId: error.customerId });
  if (error instanceof UnknownAccount) throw Problem.notFound('unknown-account', error.message);
  if (error instanceof BalanceLimitExceeded) throw Problem.unprocessable('balance-limit', error.message);
  throw error;
}
