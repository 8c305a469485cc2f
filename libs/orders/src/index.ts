/** The orders module's only public entry. Other modules use `@app/orders/contracts`, never this. */
import type { ConfigureModule } from '@app/platform';
import { OrdersModule } from './orders.module';

export { OrdersModule };

/** How a host runs orders: with the saga timing of its configuration (SAGA_STEP_TIMEOUT_MS, SAGA_MAX_ATTEMPTS). */
export const configure: ConfigureModule = (config) =>
  OrdersModule.forRoot({ saga: { stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS, maxAttempts: config.SAGA_MAX_ATTEMPTS } });
