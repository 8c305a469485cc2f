import { ApiJsonBody, ApiPathParam, ApiResult, ApiSummary, Authenticated, Problem, Public, ValidBody, ValidParam } from '@app/platform';
import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { InventoryService, type ReservationView } from '../application/inventory.service';
import { SkuAlreadyExists, StockLimitExceeded, UnknownReservation, UnknownSku } from '../domain/errors';
import type { StockItem } from '../domain/stock';
import { CreateItemSchema, ItemViewSchema, ReservationViewSchema, RestockSchema, SkuSchema } from './inventory.schemas';

/** Creates and restocks items and reads reservations (the warehouse, a back office). The catalogue is public. */
export const INVENTORY_OPERATOR = 'inventory:operator';

@ApiTags('inventory')
@Controller('inventory')
export class InventoryController {
  constructor(private readonly inventory: InventoryService) {}

  @Post('items')
  @ApiSummary('Create an item')
  @Authenticated(INVENTORY_OPERATOR)
  @ApiJsonBody(CreateItemSchema)
  @ApiResult(201, 'The new item', ItemViewSchema, [400, 409])
  async create(@ValidBody(CreateItemSchema) body: z.infer<typeof CreateItemSchema>): Promise<StockItem> {
    return this.inventory.createItem(body).catch(toProblem);
  }

  @Post('items/:sku/restock')
  @ApiSummary('Restock an item')
  @Authenticated(INVENTORY_OPERATOR)
  @HttpCode(200)
  @ApiPathParam('sku', SkuSchema)
  @ApiJsonBody(RestockSchema)
  @ApiResult(200, 'The item after restocking', ItemViewSchema, [400, 404, 422])
  async restock(
    @ValidParam('sku', SkuSchema) sku: string,
    @ValidBody(RestockSchema) body: z.infer<typeof RestockSchema>,
  ): Promise<StockItem> {
    return this.inventory.restock(sku, body.quantity).catch(toProblem);
  }

  @Get('items/:sku')
  @ApiSummary('Read an item and its stock')
  @Public()
  @ApiPathParam('sku', SkuSchema)
  @ApiResult(200, 'The item and its stock levels', ItemViewSchema, [400, 404])
  async get(@ValidParam('sku', SkuSchema) sku: string): Promise<StockItem> {
    return this.inventory.getItem(sku).catch(toProblem);
  }

  @Get('reservations/:orderId')
  @ApiSummary("Read an order's reservation")
  @Authenticated(INVENTORY_OPERATOR)
  @ApiPathParam('orderId', z.uuid())
  @ApiResult(200, "The stock reserved for an order, and the reservation's state", ReservationViewSchema, [400, 404])
  async reservation(@ValidParam('orderId', z.uuid({ error: 'must be a UUID' })) orderId: string): Promise<ReservationView> {
    return this.inventory.getReservation(orderId).catch(toProblem);
  }
}

function toProblem(error: unknown): never {
  if (error instanceof SkuAlreadyExists) throw Problem.conflict('sku-exists', error.message, { sku: error.sku });
  if (error instanceof UnknownSku) throw Problem.notFound('unknown-sku', error.message);
  if (error instanceof UnknownReservation) throw Problem.notFound('unknown-reservation', error.message);
  if (error instanceof StockLimitExceeded) throw Problem.unprocessable('stock-limit', `${error.message}. Restock a smaller quantity.`);
  throw error;
}
