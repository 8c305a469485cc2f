import 'reflect-metadata';
import { startDatabaseServer } from '@app/platform';
import { NestFactory } from '@nestjs/core';
import { appModule, configOrExit, createLogger } from './bootstrap';

/** `npm run migrate`: provisions every module's role and schema and applies pending migrations, then exits. */
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

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
