import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { DatabaseModule } from './database/database.module';
import type { DatabaseConnectionSettings } from './database/module-database';
import { HealthController } from './health/health.controller';
import { AUTH_SETTINGS, AuthGuard, type AuthOptions, authSettings } from './http/auth/auth.guard';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { IDEMPOTENCY_OPTIONS, Idempotency, type IdempotencySettings } from './idempotency/idempotency.service';
import { MessagingModule, type MessagingOptions } from './messaging';

export interface PlatformOptions {
  database: DatabaseConnectionSettings;
  /** Relay tuning, transport and the admin token; defaults suit production. */
  messaging?: MessagingOptions;
  /** Authentication of HTTP callers (AUTH_MODE): unset means `off`. ADMIN_TOKEN comes from `messaging.adminToken`. */
  auth?: AuthOptions;
  /** Idempotency-Key retention and pruning (IDEMPOTENCY_RETENTION_MS); defaults: 24 h, pruned every 10 min. */
  idempotency?: IdempotencySettings;
}

/** What every host (the monolith, an extracted service, a module's own tests) imports once. */
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      imports: [DatabaseModule.forRoot(options.database), MessagingModule.forRoot(options.messaging)],
      controllers: [HealthController],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: AUTH_SETTINGS, useValue: authSettings(options.auth, options.messaging?.adminToken) },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: IDEMPOTENCY_OPTIONS, useValue: options.idempotency ?? {} },
        Idempotency,
      ],
      exports: [DatabaseModule, MessagingModule, Idempotency],
    };
  }
}
