import { Client } from 'pg';
import { DataSource, type EntitySchema, type MixedList } from 'typeorm';
import { moduleConnectionUrl, provisionModule } from './module-roles';

/** What a module declares about its persistence. */
export interface ModuleDatabaseDefinition {
  /** Module name; also its schema and (suffixed `_module`) its role. */
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  /** Connection pool size for this module (default 10). */
  poolSize?: number;
}

export interface DatabaseConnectionSettings {
  /** Connection as a role that may create roles and schemas (used only to provision). */
  adminUrl: string;
  /** Secret from which module role passwords are derived. */
  roleSecret: string;
}

/** Provisions the module's role and schema, connects as that role and applies its pending migrations. */
export async function openModuleDataSource(
  settings: DatabaseConnectionSettings,
  def: ModuleDatabaseDefinition,
  options: { migrate?: boolean } = {},
): Promise<DataSource> {
  await provisionModule(settings.adminUrl, def.name, settings.roleSecret);
  const dataSource = new DataSource({
    type: 'postgres',
    url: moduleConnectionUrl(settings.adminUrl, def.name, settings.roleSecret),
    schema: def.name,
    entities: def.entities,
    migrations: def.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    poolSize: def.poolSize ?? 10,
    applicationName: `monolith-first:${def.name}`,
  });
  await dataSource.initialize();
  if (options.migrate !== false) await migrateModule(settings, dataSource, def.name);
  return dataSource;
}

/**
 * Applies pending migrations under a session advisory lock, so instances starting together take turns
 * and the second finds nothing to do.
 */
export async function migrateModule(settings: DatabaseConnectionSettings, dataSource: DataSource, module: string): Promise<number> {
  const lock = new Client({ connectionString: moduleConnectionUrl(settings.adminUrl, module, settings.roleSecret) });
  await lock.connect();
  try {
    await lock.query(`SELECT pg_advisory_lock(hashtext($1))`, [`monolith-first:migrate:${module}`]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.length;
  } finally {
    await lock.end(); // closing the session releases the lock
  }
}

/** True when the module's database answers and no migration is pending. */
export async function isModuleReady(dataSource: DataSource): Promise<boolean> {
  if (!dataSource.isInitialized) return false;
  await dataSource.query('SELECT 1');
  return !(await dataSource.showMigrations());
}
