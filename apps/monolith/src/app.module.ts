import { BillingModule } from '@app/billing';
import { InventoryModule } from '@app/inventory';
import { OrdersModule } from '@app/orders';
import { type DatabaseConnectionSettings, PlatformModule } from '@app/platform';
import { type DynamicModule, Module } from '@nestjs/common';

/** The monolith: every business module in one process, on one PostgreSQL server, each in its own schema. */
@Module({})
export class AppModule {
  static forRoot(database: DatabaseConnectionSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot({ database }), InventoryModule, BillingModule, OrdersModule],
    };
  }
}
