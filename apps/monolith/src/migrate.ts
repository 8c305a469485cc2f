import 'reflect-metadata';
import {
  type AppConfig,
  type DatabaseServer,
  assertSafeToServe,
  configOrExit,
  type ModuleDatabaseDefinition,
  createLogger,
  discoverModules,
  loadEnvFileIfPresent,
  migrateModule,
  migrationStatus,
  moduleDatabaseDefinition,
  platformOptions,
  retireOtherLogins,
  revertLastMigration,
  rolePrefixOf,
  startDatabaseServer,
} from '@app/platform';
import type { LoggerService } from '@nestjs/common';
import { Command, CommanderError } from 'commander';
import { checkRemoteModules } from './app.module';
import { hostedModuleNames } from './bootstrap';

/**
 * The migration CLI, per module, run from the build (the image runs it as is: `node dist/apps/monolith/src/migrate.js`).
 *   migrate [run] [module…] [--retire-other-logins]   provisions each module's roles and schema and applies its pending
 *                                                     migrations as its owner role (default: every module hosted here)
 *   migrate revert <module>                           reverts the module's last applied migration, as its owner role
 *   migrate status [module…] [--json]                 applied and pending migrations per module
 * `npm run migration:create -- <module> <name>` writes a new migration (tools/migrations/create-migration.mjs).
 * Needs an admin connection: DATABASE_ADMIN_URL, else DATABASE_URL (its user must be able to create roles), else the
 * embedded server. An extracted service's database is migrated the same way, with DATABASE_URL and DATABASE_ADMIN_URL
 * pointing at it and its module named (`migrate run billing`).
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const program = new Command('migrate')
    .description("Provision and migrate the modules' schemas, each as its own owner role.")
    .exitOverride()
    .showHelpAfterError();

  program
    .command('run [modules...]', { isDefault: true })
    .description('Provision and apply pending migrations (default: every module hosted here, all but REMOTE_MODULES).')
    .option('--retire-other-logins', 'also drop login roles of other secrets (the last step of a secret rotation)')
    .action((modules: string[], opts: { retireOtherLogins?: boolean }) =>
      withDatabase(async (config, database, logger) => {
        const names = modules.length > 0 ? modules : hostedModuleNames(config);
        for (const [name, def] of definitionsOf(names, config)) {
          const applied = await migrateModule(settingsOf(config, database), def);
          logger.log(`${name}: ${applied === 0 ? 'up to date' : `applied ${applied} migration${applied === 1 ? '' : 's'}`}`, 'Migrate');
          if (opts.retireOtherLogins) {
            const prefix = rolePrefixOf({ url: database.url, rolePrefix: config.DB_ROLE_PREFIX });
            const dropped = await retireOtherLogins(database.adminUrl!, name, prefix, config.MODULE_DB_SECRET);
            logger.log(`${name}: ${dropped.length > 0 ? `dropped ${dropped.join(', ')}` : 'no login roles of other secrets'}`, 'Migrate');
          }
        }
        logger.log(`Migrated ${names.join(', ')}`, 'Migrate');
      }),
    );

  program
    .command('revert <module>')
    .description("Revert the module's last applied migration (its down()), as the module's owner role.")
    .action((module: string) =>
      withDatabase(async (config, database, logger) => {
        const [[, def]] = definitionsOf([module], config);
        const reverted = await revertLastMigration(settingsOf(config, database), def);
        if (!reverted) throw new UsageError(`${module} has no applied migration to revert.`);
        logger.log(
          `${module}: reverted ${reverted}. The app refuses to start while it is pending (or applies it again when it starts ` +
            `with DATABASE_ADMIN_URL): delete or fix the migration file first.`,
          'Migrate',
        );
      }),
    );

  program
    .command('status [modules...]')
    .description('Applied and pending migrations per module (default: every module hosted here).')
    .option('--json', 'print JSON')
    .action((modules: string[], opts: { json?: boolean }) =>
      withDatabase(async (config, database) => {
        const names = modules.length > 0 ? modules : hostedModuleNames(config);
        const status: Record<string, { applied: string[]; pending: string[] }> = {};
        for (const [name, def] of definitionsOf(names, config)) status[name] = await migrationStatus(settingsOf(config, database), def);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        for (const [name, { applied, pending }] of Object.entries(status)) {
          process.stdout.write(
            `${name}: ${applied.length} applied, ${pending.length} pending${pending.length ? ` (${pending.join(', ')})` : ''}\n`,
          );
        }
      }),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2; // commander printed help or the usage error
    if (error instanceof UsageError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

class UsageError extends Error {}

/** Opens the database server (embedded unless DATABASE_URL) with an admin connection, runs `work`, and stops it. */
async function withDatabase(work: (config: AppConfig, database: DatabaseServer, logger: LoggerService) => Promise<void>): Promise<void> {
  // The secrets are checked as for serving, but not the authentication settings: a migration job answers no request.
  const config = configOrExit((c) => (checkRemoteModules(c.REMOTE_MODULES), assertSafeToServe({ ...c, AUTH_MODE: 'off' }), c));
  const logger = createLogger(config);
  const database = await startDatabaseServer({ ...config, DATABASE_ADMIN_URL: config.DATABASE_ADMIN_URL ?? config.DATABASE_URL });
  try {
    await work(config, database, logger);
  } finally {
    await database.stop();
  }
}

function settingsOf(config: AppConfig, database: DatabaseServer) {
  return platformOptions(config, database).database;
}

/**
 * Each named module's database definition: requiring its public entry records it (DatabaseModule.forModule), no Nest
 * application is created, so nothing migrates but what is asked for.
 */
function definitionsOf(names: readonly string[], config: AppConfig): [string, ModuleDatabaseDefinition][] {
  const known = discoverModules();
  return names.map((name) => {
    const module = known.find((m) => m.name === name);
    if (!module) throw new UsageError(`'${name}' is not a module (known: ${known.map((m) => m.name).join(', ')}).`);
    void module.load(config); // requiring it records its database definition; the Nest module itself is not needed
    const def = moduleDatabaseDefinition(name);
    if (!def) {
      throw new UsageError(
        `${name} has no database: its Nest module imports no DatabaseModule.forModule({ name: '${name}', ... }), so there is nothing to migrate.`,
      );
    }
    return [name, def];
  });
}

if (require.main === module) {
  loadEnvFileIfPresent(); // ./.env, if any; the environment wins
  void main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
