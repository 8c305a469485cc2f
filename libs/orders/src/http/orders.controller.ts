import {
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
  type StoredResponse,
  ValidBody,
  ValidHeader,
  ValidParam,
} from '@app/platform';
import { Controller, Get, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { type OrderAccepted, OrderRequests } from '../application/order-requests';
import { OrdersService, type OrderView } from '../application/orders.service';
import { InvalidOrder, UnknownOrder } from '../domain/errors';
import { orderLimitViolations } from '../domain/order';
import { OrderIdSchema, OrderViewSchema, type PlaceOrderBody, PlaceOrderSchema } from './orders.schemas';

const AcceptedSchema = z.object({ id: z.uuid(), status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']) });

/** Places, reads and cancels any customer's orders (support staff, back office). Customers act on their own. */
export const ORDERS_OPERATOR = 'orders:operator';

@ApiTags('orders')
@Authenticated()
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly requests: OrderRequests,
  ) {}

  @Post()
  @ApiSummary(
    'Place an order',
    'As the customer in the token (or any customer, with orders:operator). Lines are priced later by inventory.',
  )
  @ApiIdempotencyKey()
  @ApiJsonBody(PlaceOrderSchema)
  @ApiResult(
    202,
    'Accepted: the saga reserves stock, then captures payment, then confirms. Poll the Location.',
    AcceptedSchema,
    [400, 409, 422],
  )
  async place(
    @CurrentPrincipal() principal: Principal,
    @ValidHeader('Idempotency-Key', IdempotencyKeySchema) key: string,
    @ValidBody(PlaceOrderSchema) body: PlaceOrderBody,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderAccepted> {
    assertMayActFor(principal, body.customerId, ORDERS_OPERATOR, 'The customerId in the body');
    assertWithinLimits(body);
    return reply(res, await this.requests.place(key, body, keyOwner(principal)).catch(toProblem));
  }

  @Post(':id/cancel')
  @ApiSummary('Cancel an order', 'Your own order, or any with orders:operator.')
  @ApiIdempotencyKey()
  @ApiPathParam('id', OrderIdSchema)
  @ApiResult(
    202,
    'Accepted: whatever was done is compensated, then the order is CANCELLED (CUSTOMER_REQUEST).',
    AcceptedSchema,
    [400, 404, 409, 422],
  )
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @ValidHeader('Idempotency-Key', IdempotencyKeySchema) key: string,
    @ValidParam('id', OrderIdSchema) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderAccepted> {
    // The owner never changes, so checking before the cancel is race-free.
    assertMayActFor(principal, (await this.orders.getOrder(id).catch(toProblem)).customerId, ORDERS_OPERATOR, 'This order');
    return reply(res, await this.requests.cancel(key, id, keyOwner(principal)).catch(toProblem));
  }

  @Get(':id')
  @ApiSummary('Read an order', 'Your own order, or any with orders:operator.')
  @ApiPathParam('id', OrderIdSchema)
  @ApiResult(200, 'The order, its status and the history of what happened to it, and why', OrderViewSchema, [400, 404])
  async get(@CurrentPrincipal() principal: Principal, @ValidParam('id', OrderIdSchema) id: string): Promise<OrderView> {
    const order = await this.orders.getOrder(id).catch(toProblem);
    assertMayActFor(principal, order.customerId, ORDERS_OPERATOR, 'This order');
    return order;
  }
}

/** Limits of the lines together (no single line shows them): 422 at once, before the saga could fail on them later. */
function assertWithinLimits(body: PlaceOrderBody): void {
  const violations = orderLimitViolations(body.lines);
  if (violations.length === 0) return;
  const errors = violations.map((v) => ({ in: 'body', field: v.line === null ? 'lines' : `lines.${v.line}.quantity`, message: v.message }));
  throw Problem.unprocessable('order-limits', `No order can hold these lines: ${errors.map((e) => e.message).join('; ')}.`, { errors });
}

function reply(res: Response, response: StoredResponse<OrderAccepted>): OrderAccepted {
  res.status(response.status).location(`/orders/${response.body.id}`);
  return response.body;
}

function toProblem(error: unknown): never {
  if (error instanceof UnknownOrder) throw Problem.notFound('unknown-order', error.message);
  if (error instanceof InvalidOrder) throw Problem.unprocessable('invalid-order', `The order is invalid: ${error.message}.`);
  throw error;
}
