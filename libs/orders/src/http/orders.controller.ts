import { ApiPathParam, ApiResult, Problem, ValidParam } from '@app/platform';
import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { OrdersService, type OrderView } from '../application/orders.service';
import { InvalidOrder, OrderAlreadyExists, UnknownOrder } from '../domain/errors';
import { OrderIdSchema, OrderViewSchema } from './orders.schemas';

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get(':id')
  @ApiPathParam('id', OrderIdSchema)
  @ApiResult(200, 'The order, its status and the history of what happened to it, and why', OrderViewSchema, [400, 404])
  async get(@ValidParam('id', OrderIdSchema) id: string): Promise<OrderView> {
    return this.orders.getOrder(id).catch(toProblem);
  }
}

function toProblem(error: unknown): never {
  if (error instanceof UnknownOrder) throw Problem.notFound('unknown-order', error.message);
  if (error instanceof OrderAlreadyExists) throw Problem.conflict('order-exists', error.message);
  if (error instanceof InvalidOrder) throw Problem.unprocessable('invalid-order', `The order is invalid: ${error.message}.`);
  throw error;
}
