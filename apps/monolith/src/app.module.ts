import { BillingModule } from '@app/billing';
import { InventoryModule } from '@app/inventory';
import { OrdersModule } from '@app/orders';
import { PlatformModule, type PlatformOptions } from '@app/platform';
import { type DynamicModule, Module } from '@nestjs/common';

/** The monolith: every business module in one process, on one PostgreSQL server, each in its own schema. */
@Module({})
export class AppModule {
  static forRoot(platform: PlatformOptions, modules: { orders?: Parameters<typeof OrdersModule.forRoot>[0] } = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(platform), InventoryModule, BillingModule, OrdersModule.forRoot(modules.orders)],
    };
  }
}
