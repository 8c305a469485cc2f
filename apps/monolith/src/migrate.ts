import 'reflect-metadata';
import { createLogger, loadEnvFileIfPresent, retireOtherLogins, rolePrefixOf, startDatabaseServer } from '@app/platform';
import { NestFactory } from '@nestjs/core';
import { appModule, configOrExit, hostedModuleNames } from './bootstrap';

/**
 * `npm run migrate`: provisions the roles and schema of every module hosted here (all but REMOTE_MODULES) and applies
 * pending migrations as each module's owner role, then exits. Needs an admin connection: DATABASE_ADMIN_URL, else
 * DATABASE_URL (its user must be able to create roles), else the embedded server.
 *   npm run migrate -- --retire-other-logins   also drops login roles of other secrets (the last step of a rotation)
 * An extracted service migrates its own database (start it once with <MODULE>_DATABASE_ADMIN_URL).
 */
async function main(argv = process.argv.slice(2)): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config);
  const database = await startDatabaseServer({ ...config, DATABASE_ADMIN_URL: config.DATABASE_ADMIN_URL ?? config.DATABASE_URL });
  try {
    // Creating the application opens each module's database, which provisions and migrates it (an admin connection is
    // given). It is never initialised, so no relay starts and no HTTP port opens; close() then releases the pools.
    const app = await NestFactory.create(appModule(config, database, true), { logger });
    await app.close();
    if (argv.includes('--retire-other-logins')) {
      const prefix = rolePrefixOf({ url: database.url, rolePrefix: config.DB_ROLE_PREFIX });
      for (const module of hostedModuleNames(config)) {
        const dropped = await retireOtherLogins(database.adminUrl!, module, prefix, config.MODULE_DB_SECRET);
        logger.log(`${module}: ${dropped.length > 0 ? `dropped ${dropped.join(', ')}` : 'no login roles of other secrets'}`, 'Migrate');
      }
    }
    logger.log('Every module is migrated', 'Migrate');
  } finally {
    await database.stop();
  }
}

loadEnvFileIfPresent(); // ./.env, if any; the environment wins
main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
