import { Client, Pool } from 'pg';
import { DataSource, type MigrationInterface, type MixedList, type QueryRunner } from 'typeorm';
import { ModuleDb } from './module-db';
import { type ModuleRoles, moduleLoginUrl, moduleRoles, provisionModule, rolePrefixFor } from './module-roles';

/** What a module declares about its persistence: its name (= schema) and its migrations, in the order they apply. */
export interface ModuleDatabaseDefinition {
  /** Module name; also its schema and part of its role names. */
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
}

export interface DatabaseConnectionSettings {
  /** Where the database is: host, port and database name (its user and password are not used by modules). */
  url: string;
  /**
   * A connection that may create roles and schemas. When set, each module is provisioned and migrated when it opens
   * (the embedded default, tests, `npm run migrate`); unset, the app only connects with module credentials and
   * refuses to start while a migration is pending.
   */
  adminUrl?: string;
  /** Secret from which each module's login role name and password are derived. */
  roleSecret: string;
  /** Role name prefix of this deployment (default: the database name). */
  rolePrefix?: string;
  /** Connections per module (default 3). */
  poolSize?: number;
}

export function rolePrefixOf(settings: Pick<DatabaseConnectionSettings, 'url' | 'rolePrefix'>): string {
  return settings.rolePrefix ?? rolePrefixFor(decodeURIComponent(new URL(settings.url).pathname.slice(1)) || 'postgres');
}

export function rolesOf(settings: DatabaseConnectionSettings, module: string): ModuleRoles {
  return moduleRoles(rolePrefixOf(settings), module, settings.roleSecret);
}

/** The module's runtime connection settings (its login role). */
export function moduleConnectionUrl(settings: DatabaseConnectionSettings, module: string): string {
  return moduleLoginUrl(settings.url, rolePrefixOf(settings), module, settings.roleSecret);
}

/** The pool's per-connection safety limits: a lock wait or an abandoned transaction never hangs forever. */
const SESSION_LIMITS = { lock_timeout: 10_000, idle_in_transaction_session_timeout: 60_000 };

/**
 * Opens a module's database as its login role: provisions and migrates it first when `adminUrl` is set; otherwise
 * checks that nothing is pending and says what to run if something is.
 */
export async function openModuleDb(settings: DatabaseConnectionSettings, def: ModuleDatabaseDefinition): Promise<ModuleDb> {
  if (settings.adminUrl) await migrateModule(settings, def);
  const pool = new Pool({
    connectionString: moduleConnectionUrl(settings, def.name),
    max: settings.poolSize ?? 3,
    application_name: `monolith-first:${def.name}`,
    ...SESSION_LIMITS,
  });
  // An idle connection that breaks (server restart) is dropped from the pool; the next query opens a new one.
  pool.on('error', () => undefined);
  const db = new ModuleDb(def.name, pool);
  try {
    const pending = await pendingMigrations(db, def);
    if (pending.length > 0) {
      throw new Error(
        `The ${def.name} module's database is not migrated: ${pending.join(', ')} pending. Run \`npm run migrate\` with ` +
          `DATABASE_ADMIN_URL set (or start once with DATABASE_ADMIN_URL), then start again.`,
      );
    }
  } catch (error) {
    await pool.end();
    throw connectionHint(error, def.name);
  }
  return db;
}

/** Names of the module's migrations not applied yet (an empty list when it is up to date). */
export async function pendingMigrations(db: ModuleDb, def: ModuleDatabaseDefinition): Promise<string[]> {
  const applied = await db
    .query<{ name: string }>(`SELECT name FROM "${def.name}".migrations`)
    // no migrations table, no schema, or not granted yet: nothing applied
    .catch((error: { code?: string }) => (['42P01', '3F000', '42501'].includes(error.code ?? '') ? [] : Promise.reject(error as Error)));
  const done = new Set(applied.map((r) => r.name));
  return migrationNames(def).filter((n) => !done.has(n));
}

function migrationNames(def: ModuleDatabaseDefinition): string[] {
  const list = (Array.isArray(def.migrations) ? def.migrations : Object.values(def.migrations)) as unknown[];
  return list.map((m) =>
    typeof m === 'function' ? (new (m as new () => MigrationInterface)().name ?? (m as { name: string }).name) : String(m),
  );
}

/**
 * Provisions the module's roles and schema and applies its pending migrations as the owner role, under a session
 * advisory lock, so instances starting together take turns and the second finds nothing to do. Returns how many ran.
 */
export async function migrateModule(settings: DatabaseConnectionSettings, def: ModuleDatabaseDefinition): Promise<number> {
  return asOwner(settings, def, async (dataSource, roles) => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    await dataSource.query(`GRANT SELECT ON "${def.name}".migrations TO "${roles.runtime}"`);
    return applied.length;
  });
}

/**
 * Reverts the module's last applied migration (its `down()`, in one transaction) as its owner role, under the same
 * lock as migrateModule. Returns the reverted migration's name, or undefined when none is applied.
 */
export async function revertLastMigration(
  settings: DatabaseConnectionSettings,
  def: ModuleDatabaseDefinition,
): Promise<string | undefined> {
  return asOwner(settings, def, async (dataSource) => {
    const executed = await dataSource
      .query<{ name: string }[]>(`SELECT name FROM "${def.name}".migrations ORDER BY timestamp DESC, id DESC LIMIT 1`)
      .catch((error: { code?: string }) => (error.code === '42P01' ? [] : Promise.reject(error as Error)));
    if (executed.length === 0) return undefined;
    await dataSource.undoLastMigration({ transaction: 'each' });
    return executed[0].name;
  });
}

/** The applied and pending migrations of a module, read as its owner role (provisioning it first). */
export async function migrationStatus(
  settings: DatabaseConnectionSettings,
  def: ModuleDatabaseDefinition,
): Promise<{ applied: string[]; pending: string[] }> {
  return asOwner(settings, def, async (dataSource) => {
    const rows = await dataSource
      .query<{ name: string }[]>(`SELECT name FROM "${def.name}".migrations ORDER BY timestamp, id`)
      .catch((error: { code?: string }) => (error.code === '42P01' ? [] : Promise.reject(error as Error)));
    const applied = rows.map((r) => r.name);
    return { applied, pending: migrationNames(def).filter((n) => !applied.includes(n)) };
  });
}

/**
 * Runs `work` on a TypeORM DataSource of the module's schema acting as its owner role, after provisioning the roles
 * and schema, under a session advisory lock, so instances and CLIs migrating together take turns.
 */
async function asOwner<T>(
  settings: DatabaseConnectionSettings,
  def: ModuleDatabaseDefinition,
  work: (dataSource: DataSource, roles: ModuleRoles) => Promise<T>,
): Promise<T> {
  if (!settings.adminUrl) throw new Error(`Migrating ${def.name} needs an admin connection (DATABASE_ADMIN_URL).`);
  const prefix = rolePrefixOf(settings);
  const roles = await provisionModule(settings.adminUrl, def.name, prefix, settings.roleSecret);
  const lock = new Client({ connectionString: settings.adminUrl, application_name: 'monolith-first:migrate' });
  await lock.connect();
  const dataSource = new DataSource({
    type: 'postgres',
    url: settings.adminUrl,
    schema: def.name,
    migrations: def.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    poolSize: 1,
    applicationName: `monolith-first:migrate:${def.name}`,
    // Everything a migration creates belongs to the owner; it grants the runtime role what the code needs.
    extra: { options: `-c role=${roles.owner} -c search_path=${def.name} -c ${RUNTIME_ROLE_SETTING}=${roles.runtime}` },
  });
  try {
    await lock.query(`SELECT pg_advisory_lock(hashtext($1))`, [`monolith-first:migrate:${def.name}`]);
    await dataSource.initialize();
    return await work(dataSource, roles);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await lock.end(); // closing the session releases the lock
  }
}

/** The setting a migration reads to name the runtime role (see grantToRuntime). */
const RUNTIME_ROLE_SETTING = 'monolith_first.runtime_role';

/**
 * In a migration: grants the module's runtime role `privileges` (e.g. 'SELECT, INSERT') on `tables` of its schema.
 * Grant only what the code needs: what is not granted, the running app cannot do, whatever bug or injection it has.
 */
export async function grantToRuntime(q: QueryRunner, privileges: string, ...tables: string[]): Promise<void> {
  if (!/^[A-Z, ()a-z_]+$/.test(privileges)) throw new Error(`grantToRuntime: unexpected privileges '${privileges}'`);
  for (const table of tables) {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`grantToRuntime: unexpected table name '${table}'`);
    await q.query(
      `DO $$ BEGIN EXECUTE format('GRANT ${privileges} ON ${table} TO %I', current_setting('${RUNTIME_ROLE_SETTING}')); END $$`,
    );
  }
}

/** In a migration: lets the runtime role use a sequence (identity columns of tables it inserts into). */
export async function grantSequenceToRuntime(q: QueryRunner, ...sequences: string[]): Promise<void> {
  for (const sequence of sequences) {
    if (!/^[a-z_][a-z0-9_]*$/.test(sequence)) throw new Error(`grantSequenceToRuntime: unexpected name '${sequence}'`);
    await q.query(
      `DO $$ BEGIN EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE ${sequence} TO %I', current_setting('${RUNTIME_ROLE_SETTING}')); END $$`,
    );
  }
}

function connectionHint(error: unknown, module: string): Error {
  const code = (error as { code?: string }).code;
  if (code === '28P01' || code === '28000') {
    return new Error(
      `The ${module} module could not log in to its database (${(error as Error).message}). Its login role is derived from ` +
        `MODULE_DB_SECRET: run \`npm run migrate\` with this secret and DATABASE_ADMIN_URL to create it, or check the secret.`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** True when the module's database answers and no migration is pending. */
export async function isModuleReady(db: ModuleDb, def: ModuleDatabaseDefinition): Promise<boolean> {
  return (await pendingMigrations(db, def)).length === 0;
}
