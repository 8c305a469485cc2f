import { type DynamicModule, type INestApplication, Logger, type LoggerService, Module, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import type { Server } from 'node:http';
import { z } from 'zod';
import { type AppConfig, AppConfigSchema, ConfigError, assertSafeToServe, authModeOf, loadConfig, logFormatOf } from '../config/app-config';
import { type DatabaseServer, startDatabaseServer } from '../database/database-server';
import { configureHttp } from '../http/configure-http';
import { openApiDocument } from '../http/openapi';
import { type BullMqMessagingOptions, connectBullMq } from '../messaging/transports/bullmq/bullmq-messaging';
import { assertRedisReachable } from '../messaging/transports/bullmq/redis';
import { ShutdownState } from '../health/shutdown-state';
import { createPino, PinoNestLogger } from '../observability/logging/pino-logger';
import { startTracing, stopTracing } from '../observability/tracing/tracing';
import { PlatformModule, type PlatformOptions } from '../platform.module';
import { discoverModules } from './module-discovery';
import type { Logger as Pino } from 'pino';

/**
 * What every deployable shares: configuration, logging, start-up, the BullMQ switch and the drain on SIGTERM.
 * apps/monolith and every apps/<module>-service call these, so an extracted service stays a few lines long.
 */

/** A started host: its Nest app, its database server (embedded or external) and its configuration. */
export interface Running {
  app: INestApplication;
  database: DatabaseServer;
  config: AppConfig;
}

let processPino: Pino | undefined;

/**
 * The process's logger: pino (JSON lines, or pino-pretty in development), secrets redacted, each line with the
 * request id, correlation id and trace id of what it was written for. Also made Nest's static logger, so what logs
 * before the app exists (start-up waits, the embedded PostgreSQL) has the same format.
 */
export function createLogger(config: Pick<AppConfig, 'LOG_FORMAT' | 'NODE_ENV'> & Partial<Pick<AppConfig, 'LOG_LEVEL'>>): LoggerService {
  processPino = createPino({ format: logFormatOf(config), level: config.LOG_LEVEL });
  const logger = new PinoNestLogger(processPino);
  Logger.overrideLogger(logger);
  return logger;
}

/**
 * Loads the configuration and runs the host's checks (default: assertSafeToServe, which a custom check must call too),
 * or exits 78 with a message naming each bad setting.
 */
export function configOrExit<T = AppConfig>(check: (config: AppConfig) => T = (c) => (assertSafeToServe(c), c as T)): T {
  try {
    return check(loadConfig());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** The host's place among the others when some module runs remote: its name (= its queue), its peers and their routes. */
export interface HostPlacement {
  host: string;
  peers: readonly string[];
  /** Message types per peer that runs known modules (see BullMqMessagingOptions.routes); others get every message. */
  routes?: Readonly<Record<string, readonly string[]>>;
}

/**
 * What the platform needs from the configuration and the database server; `placement` switches BullMQ on.
 * `modules`: how many modules this host runs; they share DB_CONNECTIONS (one is the relays' presence connection).
 */
export function platformOptions(config: AppConfig, database: DatabaseServer, placement?: HostPlacement, modules = 1): PlatformOptions {
  const bullmq: BullMqMessagingOptions | undefined = placement && {
    ...placement,
    redisUrl: config.REDIS_URL,
    prefix: config.BULLMQ_PREFIX,
    concurrency: config.BULLMQ_CONCURRENCY,
    lockMs: config.BULLMQ_LOCK_MS,
  };
  const auth: PlatformOptions['auth'] =
    authModeOf(config) === 'off'
      ? { mode: 'off' }
      : {
          mode: 'jwt',
          jwtSecret: config.AUTH_JWT_SECRET,
          jwksUrl: config.AUTH_JWKS_URL,
          issuer: config.AUTH_ISSUER,
          audience: config.AUTH_AUDIENCE,
          clockToleranceS: config.AUTH_CLOCK_TOLERANCE_S,
        };
  return {
    observability: {
      metrics: { enabled: config.METRICS_ENABLED, token: config.METRICS_TOKEN },
      logRequests: config.LOG_REQUESTS,
      logger: processPino,
    },
    database: {
      url: database.url,
      adminUrl: database.adminUrl,
      roleSecret: config.MODULE_DB_SECRET,
      rolePrefix: config.DB_ROLE_PREFIX,
      poolSize: Math.max(1, Math.floor((config.DB_CONNECTIONS - 1) / Math.max(1, modules))),
    },
    auth,
    idempotency: { retentionMs: config.IDEMPOTENCY_RETENTION_MS },
    messaging: {
      adminToken: config.ADMIN_TOKEN,
      relay: { leaseMs: config.RELAY_LEASE_MS, pollIntervalMs: config.RELAY_POLL_INTERVAL_MS },
      faultInjection: config.FAULT_INJECTION,
      ...(bullmq ? { bullmq } : {}),
    },
  };
}

/** A deployable: the platform and the business modules it hosts. */
@Module({})
export class HostModule {
  static forRoot(platform: PlatformOptions, modules: NonNullable<ModuleMetadata['imports']>): DynamicModule {
    return { module: HostModule, imports: [PlatformModule.forRoot(platform), ...modules] };
  }
}

/** Serves the OpenAPI 3.1 description at /docs-json and its UI at /docs (before init(), or Nest's 404 answers first). */
export function serveOpenApi(app: INestApplication, title: string, description: string): void {
  SwaggerModule.setup('docs', app, openApiDocument(app, title, description), { jsonDocumentUrl: 'docs-json' });
}

/**
 * A host with peers needs Redis: check it before anything else starts (the database included), and stop with a
 * message that says what needs it, where Redis was looked for, and what to do.
 */
export async function assertPlacementReady(config: AppConfig, placement: HostPlacement | undefined, needs: string): Promise<void> {
  if (placement) await assertRedisReachable(config.REDIS_URL, needs, { retryMs: config.STARTUP_RETRY_MS });
}

export interface ServeOptions {
  /** Name in logs. */
  name: string;
  config: AppConfig;
  database: DatabaseServer;
  /** The root module (HostModule.forRoot(...) or the monolith's AppModule). */
  module: DynamicModule;
  port: number;
  placement?: HostPlacement;
  openApi?: { title: string; description: string };
  logger: LoggerService;
}

/**
 * Creates the Nest app, starts consuming its BullMQ queue when it has peers (a hybrid app: HTTP plus the BullMQ
 * transport strategy), then serves HTTP. Stops the database server if anything fails.
 */
export async function serve(options: ServeOptions): Promise<Running> {
  const { config, database, logger } = options;
  try {
    const app = await NestFactory.create(options.module, { logger });
    configureHttp(app);
    if (options.openApi) serveOpenApi(app, options.openApi.title, options.openApi.description);
    await app.init();
    if (options.placement) {
      await connectBullMq(app);
      logger.log(
        `Consuming BullMQ queue '${options.placement.host}' and sending to ${options.placement.peers.map((p) => `'${p}'`).join(', ')}`,
        'Bootstrap',
      );
    }
    await app.listen(options.port, config.HOST);
    logAuthMode(config, logger);
    if (config.FAULT_INJECTION !== 'off') {
      logger.warn(
        `FAULT_INJECTION=${config.FAULT_INJECTION}${config.NODE_ENV === 'production' ? ' IN PRODUCTION' : ''}: a message can kill this process ` +
          '(GET /admin/fault-injection says which). It is for failure drills; unset FAULT_INJECTION anywhere real orders are served.',
        'FaultInjection',
      );
    }
    logger.log(`${options.name} is serving http://${config.HOST}:${options.port} (API docs at /docs)`, 'Bootstrap');
    return { app, database, config };
  } catch (error) {
    await database.stop();
    throw error;
  }
}

function logAuthMode(config: AppConfig, logger: LoggerService): void {
  if (authModeOf(config) === 'jwt') {
    logger.log(
      `AUTH_MODE=jwt: bearer tokens verified with ${config.AUTH_JWKS_URL ? `the keys at ${config.AUTH_JWKS_URL}` : 'AUTH_JWT_SECRET (HS256)'}, audience '${config.AUTH_AUDIENCE}'`,
      'Auth',
    );
  } else if (config.NODE_ENV === 'production') {
    logger.warn(
      'AUTH_MODE=off in production: no caller is authenticated and anybody may deposit, cancel and read every order and balance',
      'Auth',
    );
  } else {
    logger.log(
      'AUTH_MODE=off: no tokens are checked, every caller acts as an operator (the admin endpoints still need ADMIN_TOKEN)',
      'Auth',
    );
  }
}

/**
 * Drains on SIGTERM/SIGINT: stop accepting connections and jobs, finish in-flight requests and deliveries, close
 * the pools and the Redis connections, stop the embedded server. A second signal, or the timeout, exits at once, and
 * tells the embedded server to stop (it does not outlive the process on any exit but a SIGKILL).
 */
export function drainOnSignals(running: Running, logger: LoggerService): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting (the embedded PostgreSQL, if any, is told to stop)`, 'Shutdown');
      running.database.stopNow();
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal} received: draining`, 'Shutdown');
    running.app.get(ShutdownState, { strict: false }).beginDrain(); // readiness answers 503 from now on
    const timer = setTimeout(() => {
      logger.error(
        `Drain took longer than ${running.config.SHUTDOWN_TIMEOUT_MS} ms: exiting. Unfinished work is retried after restart.`,
        undefined,
        'Shutdown',
      );
      running.database.stopNow();
      process.exit(1);
    }, running.config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      const server = running.app.getHttpServer() as Server;
      server.closeIdleConnections?.(); // keep-alive sockets would otherwise hold close() open
      await running.app.close();
      await running.database.stop();
      await stopTracing().catch(() => undefined); // exports the spans still buffered
      logger.log('Stopped cleanly', 'Shutdown');
      process.exit(0);
    } catch (error) {
      logger.error(`Shutdown failed: ${(error as Error).stack ?? String(error)}`, undefined, 'Shutdown');
      running.database.stopNow();
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** An extracted module's own deployable (apps/<module>-service). */
export interface ModuleServiceDefinition {
  /** The module's name: its schema, its host name and its queue (e.g. `billing`). */
  name: string;
  /** Its Nest module: the very class the monolith imports. */
  module: NonNullable<ModuleMetadata['imports']>[number];
  /** HTTP port when `<NAME>_PORT` is unset. */
  defaultPort: number;
  /** One line for the API docs. */
  description?: string;
}

/** The settings of `apps/<name>-service`, read from variables named after the module (BILLING_PORT, ...). */
export interface ModuleServiceSettings {
  /** `<NAME>_PORT`. */
  port: number;
  /** `<NAME>_DATABASE_URL`: the service's own database. Unset: an embedded PostgreSQL of its own. */
  databaseUrl?: string;
  /** `<NAME>_DATABASE_ADMIN_URL`: an admin connection to it (provisions and migrates at start when set). */
  databaseAdminUrl?: string;
  /** `<NAME>_DB_ROLE_PREFIX`: role prefix on its own database (default DB_ROLE_PREFIX, else that database's name). */
  rolePrefix?: string;
  /** `<NAME>_EMBEDDED_PG_PORT` (default EMBEDDED_PG_PORT + 1), data under DATA_DIR/<name>-postgres. */
  embeddedPgPort: number;
  /** PEER_HOSTS, default `monolith`: the hosts that get this service's messages. */
  peers: string[];
}

export function moduleServiceSettings(
  name: string,
  config: AppConfig,
  defaultPort: number,
  env: NodeJS.ProcessEnv = process.env,
): ModuleServiceSettings {
  const prefix = name.toUpperCase();
  const port = AppConfigSchema.shape.PORT;
  const schema = z.object({
    [`${prefix}_PORT`]: port.default(defaultPort),
    [`${prefix}_DATABASE_URL`]: AppConfigSchema.shape.DATABASE_URL,
    [`${prefix}_DATABASE_ADMIN_URL`]: AppConfigSchema.shape.DATABASE_ADMIN_URL,
    [`${prefix}_DB_ROLE_PREFIX`]: AppConfigSchema.shape.DB_ROLE_PREFIX,
    [`${prefix}_EMBEDDED_PG_PORT`]: port.default(config.EMBEDDED_PG_PORT + 1),
  });
  const values = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]));
  const result = schema.safeParse(values);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nFix the environment variables above and start again.`);
  }
  const parsed = result.data as Record<string, unknown>;
  return {
    port: parsed[`${prefix}_PORT`] as number,
    databaseUrl: parsed[`${prefix}_DATABASE_URL`] as string | undefined,
    databaseAdminUrl: parsed[`${prefix}_DATABASE_ADMIN_URL`] as string | undefined,
    rolePrefix: (parsed[`${prefix}_DB_ROLE_PREFIX`] as string | undefined) ?? config.DB_ROLE_PREFIX,
    embeddedPgPort: parsed[`${prefix}_EMBEDDED_PG_PORT`] as number,
    peers: config.PEER_HOSTS ?? ['monolith'],
  };
}

/**
 * Runs one business module as its own service: its own database (`<NAME>_DATABASE_URL`, else an embedded PostgreSQL
 * under DATA_DIR/<name>-postgres), its own outbox and inbox there, its HTTP endpoints on `<NAME>_PORT`, and its
 * messages over BullMQ (it consumes the queue `<name>` and sends to PEER_HOSTS, default `monolith`). Needs Redis.
 * Drains on SIGTERM. Given a name, the module is found under libs/ as the monolith finds it, so any module runs remote
 * with apps/module-service (`node dist/apps/module-service/src/main.js <name>`); `options` then sets its default port
 * and description. This is all an apps/<module>-service/src/main.ts has to call.
 */
export async function startModuleService(
  nameOrDefinition: string | ModuleServiceDefinition,
  options: Partial<Omit<ModuleServiceDefinition, 'name'>> = {},
): Promise<Running> {
  const { name } = typeof nameOrDefinition === 'string' ? { name: nameOrDefinition } : nameOrDefinition;
  const [config, settings, definition] = configOrExit((c) => {
    const def = typeof nameOrDefinition === 'string' ? { ...discoveredService(nameOrDefinition, c), ...options } : nameOrDefinition;
    const own = moduleServiceSettings(name, c, def.defaultPort);
    assertSafeToServe(c, Boolean(own.databaseUrl)); // its database is <NAME>_DATABASE_URL; DATABASE_URL is the monolith's
    return [c, own, def] as const;
  });
  const logger = createLogger(config);
  const placement = { host: name, peers: settings.peers };
  await assertPlacementReady(config, placement, `The ${name} service`);
  if (!settings.databaseUrl) {
    logger.log(
      `${name.toUpperCase()}_DATABASE_URL is unset: using an embedded PostgreSQL of ${name}'s own in ${config.DATA_DIR}/${name}-postgres ` +
        `(127.0.0.1:${settings.embeddedPgPort}). DATABASE_URL belongs to the monolith and is not used.`,
      'Bootstrap',
    );
  }
  const database = await startDatabaseServer(
    {
      DATABASE_URL: settings.databaseUrl,
      DATABASE_ADMIN_URL: settings.databaseAdminUrl,
      DATA_DIR: config.DATA_DIR,
      EMBEDDED_PG_PORT: settings.embeddedPgPort,
      STARTUP_RETRY_MS: config.STARTUP_RETRY_MS,
    },
    name,
    `${name}-postgres`,
  );
  const running = await serve({
    name: `${name} service`,
    config,
    database,
    module: HostModule.forRoot(platformOptions({ ...config, DB_ROLE_PREFIX: settings.rolePrefix }, database, placement), [
      definition.module,
    ]),
    port: settings.port,
    placement,
    openApi: {
      title: `Monolith-First: ${name}`,
      description: definition.description ?? `The ${name} module, extracted into its own service.`,
    },
    logger,
  });
  drainOnSignals(running, logger);
  return running;
}

/** Default HTTP port of a module's service when neither the caller nor `<NAME>_PORT` gives one. */
export const DEFAULT_MODULE_SERVICE_PORT = 3001;

/**
 * A module found under libs/ (discoverModules), loaded as the monolith would load it (its `configure(config)` when
 * it exports one). An unknown name is a configuration error naming the modules there are.
 */
function discoveredService(name: string, config: AppConfig): ModuleServiceDefinition {
  const modules = discoverModules();
  const found = modules.find((m) => m.name === name);
  if (!found) {
    throw new ConfigError(
      `Invalid configuration:\n  '${name}' is not a module under libs/ (known: ${modules.map((m) => m.name).join(', ')}). ` +
        `Name one of them: node dist/apps/module-service/src/main.js <module>.`,
    );
  }
  return { name, module: found.load(config), defaultPort: DEFAULT_MODULE_SERVICE_PORT };
}

/**
 * `main()` of a deployable: starts OpenTelemetry (OTEL_* variables; before Nest, so requests and, with
 * OTEL_INSTRUMENT_PG=true, statements are traced), runs `start`, prints a failure and exits 1.
 */
export function runMain(start: () => Promise<unknown>): void {
  startTracing();
  start().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
