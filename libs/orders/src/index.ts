/** The orders module's only public entry. Other modules use `@app/orders/contracts`, never this. */
import type { ConfigureModule } from '@app/platform';
import { OrdersModule } from './orders.module';

export { OrdersModule };

/** How a host runs orders: with the saga's patience from its configuration (SAGA_*, see the README). */
export const configure: ConfigureModule = (config) =>
  OrdersModule.forRoot({
    saga: {
      stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS,
      reserveDeadlineMs: config.SAGA_RESERVE_DEADLINE_MS,
      paymentDeadlineMs: config.SAGA_PAYMENT_DEADLINE_MS,
      orderDeadlineMs: config.SAGA_ORDER_DEADLINE_MS,
      maxAttempts: config.SAGA_MAX_ATTEMPTS,
      compensationAttempts: config.SAGA_COMPENSATION_ATTEMPTS,
      maxRetryDelayMs: config.SAGA_COMPENSATION_MAX_DELAY_MS,
    },
  });
