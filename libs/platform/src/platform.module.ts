import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { DatabaseModule } from './database/database.module';
import type { DatabaseConnectionSettings } from './database/module-database';
import { HealthController } from './health/health.controller';
import { ShutdownState } from './health/shutdown-state';
import { AUTH_SETTINGS, AuthGuard, type AuthOptions, authSettings } from './http/auth/auth.guard';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { IDEMPOTENCY_OPTIONS, Idempotency, type IdempotencySettings } from './idempotency/idempotency.service';
import { MessagingModule, type MessagingOptions } from './messaging';
import { Observability, type ObservabilityOptions } from './observability/observability';
import { ObservabilityModule } from './observability/observability.module';

export interface PlatformOptions {
  database: DatabaseConnectionSettings;
  /** Relay tuning, transport and the admin token; defaults suit production. */
  messaging?: MessagingOptions;
  /** Authentication of HTTP callers (AUTH_MODE): unset means `off`. ADMIN_TOKEN comes from `messaging.adminToken`. */
  auth?: AuthOptions;
  /** Idempotency-Key retention and pruning (IDEMPOTENCY_RETENTION_MS); defaults: 24 h, pruned every 10 min. */
  idempotency?: IdempotencySettings;
  /** Metrics (/metrics, METRICS_*), spans (when tracing was started) and request logs (LOG_REQUESTS); default: metrics on. */
  observability?: ObservabilityOptions | Observability;
}

/** What every host (the monolith, an extracted service, a module's own tests) imports once. */
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    const observability = options.observability instanceof Observability ? options.observability : new Observability(options.observability);
    return {
      module: PlatformModule,
      global: true,
      imports: [
        DatabaseModule.forRoot(options.database),
        MessagingModule.forRoot({ ...options.messaging, observer: options.messaging?.observer ?? observability.messagingObserver }),
        ObservabilityModule.forRoot(observability),
      ],
      controllers: [HealthController],
      providers: [
        ShutdownState,
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: AUTH_SETTINGS, useValue: authSettings(options.auth, options.messaging?.adminToken) },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: IDEMPOTENCY_OPTIONS, useValue: options.idempotency ?? {} },
        Idempotency,
      ],
      exports: [DatabaseModule, MessagingModule, ObservabilityModule, Idempotency, ShutdownState],
    };
  }
}
