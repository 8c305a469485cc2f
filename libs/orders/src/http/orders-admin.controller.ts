import {
  ADMIN_SCOPE,
  ApiPathParam,
  ApiResult,
  ApiSummary,
  Authenticated,
  CurrentPrincipal,
  type Principal,
  Problem,
  ValidParam,
  ValidQuery,
} from '@app/platform';
import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { type OrderAccepted, OrderRequests } from '../application/order-requests';
import { OrdersService, type ParkedOrder } from '../application/orders.service';
import { OrderNotParked, UnknownOrder } from '../domain/errors';
import { AttentionListSchema, AttentionQuerySchema, OrderIdSchema } from './orders.schemas';

const RetriedSchema = z.object({ id: z.uuid(), status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']) });

/** Operators' view of orders whose compensation stopped re-sending (parked for attention), and the way to resume them. */
@ApiTags('admin')
@Authenticated(ADMIN_SCOPE)
@Controller('admin/orders')
export class OrdersAdminController {
  constructor(
    private readonly orders: OrdersService,
    private readonly requests: OrderRequests,
  ) {}

  @Get('attention')
  @ApiSummary(
    'List orders that need attention',
    'Orders parked after their compensation was re-sent SAGA_COMPENSATION_ATTEMPTS times, oldest first.',
  )
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } })
  @ApiResult(200, 'The parked orders, oldest first, with what each still waits for', AttentionListSchema, [400])
  async attention(
    @ValidQuery(AttentionQuerySchema) query: z.infer<typeof AttentionQuerySchema>,
  ): Promise<{ items: ParkedOrder[]; limit: number }> {
    return { items: await this.orders.needingAttention(query.limit), limit: query.limit };
  }

  @Post(':id/retry')
  @HttpCode(202)
  @ApiSummary('Retry a parked order', 'Re-sends its unanswered compensations (same message ids) and restarts their back-off.')
  @ApiPathParam('id', OrderIdSchema)
  @ApiResult(202, 'Resumed: the order is no longer parked; poll GET /orders/{id}', RetriedSchema, [400, 404, 409])
  async retry(@CurrentPrincipal() principal: Principal, @ValidParam('id', OrderIdSchema) id: string): Promise<OrderAccepted> {
    return this.requests.retry(id, `An operator (${principal.id})`).catch(toProblem);
  }
}

function toProblem(error: unknown): never {
  if (error instanceof UnknownOrder) throw Problem.notFound('unknown-order', error.message);
  if (error instanceof OrderNotParked) throw Problem.conflict('order-not-parked', error.message);
  throw error;
}
