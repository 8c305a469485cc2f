import { type DynamicModule, Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type DatabaseConnectionSettings, type ModuleDatabaseDefinition, openModuleDataSource } from './module-data-source';

/** Injection token of the platform's connection settings. */
export const DATABASE_SETTINGS = Symbol('DATABASE_SETTINGS');

/** Injection token of one module's DataSource. */
export function dataSourceToken(module: string): string {
  return `DataSource:${module}`;
}

/** Inject the calling module's own DataSource: `constructor(@InjectModuleDataSource('billing') ds: DataSource)`. */
export const InjectModuleDataSource = (module: string) => Inject(dataSourceToken(module));

/** Every module DataSource opened in this process, for health checks and orderly shutdown. */
@Injectable()
export class ModuleDataSources implements OnApplicationShutdown {
  private readonly logger = new Logger(ModuleDataSources.name);
  private readonly sources = new Map<string, DataSource>();

  add(module: string, dataSource: DataSource): void {
    this.sources.set(module, dataSource);
  }

  entries(): [string, DataSource][] {
    return [...this.sources.entries()];
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.entries().map(async ([module, ds]) => {
        if (ds.isInitialized) await ds.destroy();
        this.logger.log(`Closed the ${module} connection pool`);
      }),
    );
    this.sources.clear();
  }
}

@Global()
@Module({})
export class DatabaseModule {
  /** Registered once by the app (or a test) with the server to use. */
  static forRoot(settings: DatabaseConnectionSettings): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: DATABASE_SETTINGS, useValue: settings }, ModuleDataSources],
      exports: [DATABASE_SETTINGS, ModuleDataSources],
    };
  }

  /** Used by a business module: its own schema, role, entities and migrations, migrated on start. */
  static forModule(def: ModuleDatabaseDefinition): DynamicModule {
    return {
      module: ModuleDatabaseHost,
      providers: [
        {
          provide: dataSourceToken(def.name),
          inject: [DATABASE_SETTINGS, ModuleDataSources],
          useFactory: async (settings: DatabaseConnectionSettings, registry: ModuleDataSources) => {
            const ds = await openModuleDataSource(settings, def);
            registry.add(def.name, ds);
            return ds;
          },
        },
      ],
      exports: [dataSourceToken(def.name)],
    };
  }
}

/** Host of one module's DataSource provider (a separate class so forModule() calls don't merge with forRoot()). */
@Module({})
export class ModuleDatabaseHost {}
