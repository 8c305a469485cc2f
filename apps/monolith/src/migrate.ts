import 'reflect-metadata';
import { createLogger, loadEnvFileIfPresent, startDatabaseServer } from '@app/platform';
import { NestFactory } from '@nestjs/core';
import { appModule, configOrExit } from './bootstrap';

/**
 * `npm run migrate`: provisions the role and schema of every module hosted here (all but REMOTE_MODULES) and applies
 * pending migrations, then exits. An extracted service migrates its own database on start.
 */
async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config);
  const database = await startDatabaseServer(config);
  try {
    // Creating the application opens each module's DataSource, which migrates it. It is never initialised, so no
    // relay starts and no HTTP port opens; close() then releases the pools.
    const app = await NestFactory.create(appModule(config, database), { logger });
    await app.close();
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
