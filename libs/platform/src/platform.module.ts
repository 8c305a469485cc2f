import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DatabaseModule } from './database/database.module';
import type { DatabaseConnectionSettings } from './database/module-data-source';
import { HealthController } from './health/health.controller';
import { ProblemDetailsFilter } from './http/problem-details.filter';

export interface PlatformOptions {
  database: DatabaseConnectionSettings;
}

/** What every host (the monolith, an extracted service, a module's own tests) imports once. */
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      imports: [DatabaseModule.forRoot(options.database)],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
      exports: [DatabaseModule],
    };
  }
}
