import {
  type AppConfig,
  ConfigError,
  type DatabaseServer,
  type PlatformOptions,
  configureHttp,
  loadConfig,
  startDatabaseServer,
} from '@app/platform';
import { ConsoleLogger, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { AppModule } from './app.module';
import { setupOpenApi } from './openapi';

export interface Running {
  app: INestApplication;
  database: DatabaseServer;
  config: AppConfig;
}

/** What the platform needs from the configuration and the database server. */
export function platformOptions(config: AppConfig, database: DatabaseServer): PlatformOptions {
  return {
    database: { adminUrl: database.adminUrl, roleSecret: config.MODULE_DB_SECRET },
    messaging: { adminToken: config.ADMIN_TOKEN, relay: { leaseMs: config.RELAY_LEASE_MS, pollIntervalMs: config.RELAY_POLL_INTERVAL_MS } },
  };
}

/** The monolith's composition, configured. */
export function appModule(config: AppConfig, database: DatabaseServer) {
  return AppModule.forRoot(platformOptions(config, database), {
    orders: { saga: { stepTimeoutMs: config.SAGA_STEP_TIMEOUT_MS, maxAttempts: config.SAGA_MAX_ATTEMPTS } },
  });
}

export function createLogger(config: Pick<AppConfig, 'LOG_FORMAT'>): LoggerService {
  return new ConsoleLogger({ json: config.LOG_FORMAT === 'json', colors: config.LOG_FORMAT !== 'json' && Boolean(process.stdout.isTTY) });
}

/** Loads the configuration or exits with a message saying which setting is wrong. */
export function configOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** Starts the database (embedded unless DATABASE_URL), migrates every module and serves HTTP. */
export async function start(config: AppConfig): Promise<Running> {
  const logger = createLogger(config);
  const database = await startDatabaseServer(config);
  try {
    const app = await NestFactory.create(AppModule.forRoot(platformOptions(config, database)), {
      logger,
    });
    configureHttp(app);
    setupOpenApi(app);
    await app.listen(config.PORT, config.HOST);
    logger.log(`Monolith-First is serving http://${config.HOST}:${config.PORT} (API docs at /docs)`, 'Bootstrap');
    return { app, database, config };
  } catch (error) {
    await database.stop();
    throw error;
  }
}

/**
 * Drains on SIGTERM/SIGINT: stop accepting connections, finish in-flight requests and deliveries,
 * close the pools, stop the embedded server. A second signal, or the timeout, exits at once.
 */
export function drainOnSignals(running: Running, logger: LoggerService): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`, 'Shutdown');
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal} received: draining`, 'Shutdown');
    const timer = setTimeout(() => {
      logger.error(
        `Drain took longer than ${running.config.SHUTDOWN_TIMEOUT_MS} ms: exiting. Unfinished work is retried after restart.`,
        undefined,
        'Shutdown',
      );
      process.exit(1);
    }, running.config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      const server = running.app.getHttpServer() as Server;
      server.closeIdleConnections?.(); // keep-alive sockets would otherwise hold close() open
      await running.app.close();
      await running.database.stop();
      logger.log('Stopped cleanly', 'Shutdown');
      process.exit(0);
    } catch (error) {
      logger.error(`Shutdown failed: ${(error as Error).stack ?? String(error)}`, undefined, 'Shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
