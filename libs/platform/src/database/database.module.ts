import { type DynamicModule, Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { type DatabaseConnectionSettings, type ModuleDatabaseDefinition, isModuleReady, openModuleDb } from './module-database';
import type { ModuleDb } from './module-db';
import { recordModuleDatabase } from './module-migrations';

/** Injection token of the platform's connection settings. */
export const DATABASE_SETTINGS = Symbol('DATABASE_SETTINGS');

/** Injection token of one module's database (its ModuleDb). */
export function moduleDbToken(module: string): string {
  return `ModuleDb:${module}`;
}

/** Inject the calling module's own database: `constructor(@InjectModuleDb('billing') db: ModuleDb)`. */
export const InjectModuleDb = (module: string) => Inject(moduleDbToken(module));

/** Every module database opened in this process, for health checks and orderly shutdown. */
@Injectable()
export class ModuleDatabases implements OnApplicationShutdown {
  private readonly logger = new Logger(ModuleDatabases.name);
  private readonly dbs = new Map<string, { db: ModuleDb; def: ModuleDatabaseDefinition }>();

  add(db: ModuleDb, def: ModuleDatabaseDefinition): void {
    this.dbs.set(db.module, { db, def });
  }

  get(module: string): ModuleDb | undefined {
    return this.dbs.get(module)?.db;
  }

  modules(): string[] {
    return [...this.dbs.keys()].sort();
  }

  /** Per module: whether it answers and has no pending migration. */
  async readiness(): Promise<Record<string, boolean>> {
    const result: Record<string, boolean> = {};
    for (const [module, { db, def }] of this.dbs) result[module] = await isModuleReady(db, def).catch(() => false);
    return result;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [...this.dbs.values()].map(async ({ db }) => {
        await db.pool.end();
        this.logger.log(`Closed the ${db.module} connection pool`);
      }),
    );
    this.dbs.clear();
  }
}

@Global()
@Module({})
export class DatabaseModule {
  /** Registered once by the app (or a test) with the server to use. */
  static forRoot(settings: DatabaseConnectionSettings): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: DATABASE_SETTINGS, useValue: settings }, ModuleDatabases],
      exports: [DATABASE_SETTINGS, ModuleDatabases],
    };
  }

  /** Used by a business module: its own schema and roles, migrated on start when an admin connection is configured. */
  static forModule(def: ModuleDatabaseDefinition): DynamicModule {
    recordModuleDatabase(def); // for the migration CLI (apps/monolith/src/migrate.ts), which opens no Nest app
    return {
      module: ModuleDatabaseHost,
      providers: [
        {
          provide: moduleDbToken(def.name),
          inject: [DATABASE_SETTINGS, ModuleDatabases],
          useFactory: async (settings: DatabaseConnectionSettings, registry: ModuleDatabases) => {
            const db = await openModuleDb(settings, def);
            registry.add(db, def);
            return db;
          },
        },
      ],
      exports: [moduleDbToken(def.name)],
    };
  }
}

/** Host of one module's database provider (a separate class so forModule() calls don't merge with forRoot()). */
@Module({})
export class ModuleDatabaseHost {}
