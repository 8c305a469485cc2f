/**
 * @app/platform: the plumbing every module stands on. Persistence (a schema and role per module,
 * migrations, the embedded PostgreSQL), HTTP conventions (problem+json, validation, idempotency keys)
 * and health. It knows no business module.
 */
export {
  type AppConfig,
  AppConfigSchema,
  ConfigError,
  DEV_MODULE_DB_SECRET,
  PUBLIC_SECRETS,
  TEST_MODULE_DB_SECRET,
  assertSafeToServe,
  authModeOf,
  loadConfig,
  logFormatOf,
} from './config/app-config';
export { loadEnvFileIfPresent } from './config/env-file';
export { runCli } from './host/run-cli';
export { DATABASE_SETTINGS, DatabaseModule, InjectModuleDb, ModuleDatabases, moduleDbToken } from './database/database.module';
export { type DatabaseServer, ensureDatabase, startDatabaseServer, waitForDatabase } from './database/database-server';
export { EmbeddedPostgresServer, embeddedAdminUrl, embeddedSuperuserPassword } from './database/embedded-postgres-server';
export { DataDirInUse } from './database/data-dir-lock';
export {
  type DatabaseConnectionSettings,
  type ModuleDatabaseDefinition,
  grantSequenceToRuntime,
  grantToRuntime,
  isModuleReady,
  migrateModule,
  migrationStatus,
  moduleConnectionUrl,
  openModuleDb,
  pendingMigrations,
  revertLastMigration,
  rolePrefixOf,
  rolesOf,
} from './database/module-database';
export { type MigrationClass, migrationsIn, moduleDatabaseDefinition } from './database/module-migrations';
export { ModuleDb, type Statement, type TransactionOptions, Tx, statement } from './database/module-db';
export {
  type ModuleRoles,
  loginPassword,
  moduleLoginUrl,
  moduleRoles,
  provisionModule,
  retireOtherLogins,
  rolePrefixFor,
  secretKeyId,
} from './database/module-roles';
export { configureHttp } from './http/configure-http';
export { type AuthOptions, AuthGuard } from './http/auth/auth.guard';
export { ADMIN_TOKEN_SCHEME, Authenticated, BEARER_SCHEME, CurrentPrincipal, Public } from './http/auth/auth.decorators';
export { ADMIN_SCOPE, type Principal, assertMayActFor, hasScope, mayActFor } from './http/auth/principal';
export type { JwtSettings } from './http/auth/token-verifier';
export { Problem, PROBLEM_CONTENT_TYPE } from './http/problem';
export { ProblemDetailsFilter } from './http/problem-details.filter';
export { CentsSchema, QuantitySchema, SchemaPipe, TextSchema, ValidBody, ValidHeader, ValidParam, ValidQuery } from './http/validation';
export { IDEMPOTENCY_OPTIONS, Idempotency, type IdempotencySettings, keyOwner } from './idempotency/idempotency.service';
export {
  DEFAULT_IDEMPOTENCY,
  type IdempotencyOptions,
  IdempotencyKeySchema,
  type IdempotentRequest,
  type StoredResponse,
  fingerprintOf,
  idempotencyKeysMigrations,
  pruneIdempotencyKeys,
  runIdempotent,
} from './idempotency/idempotency';
export { HealthController } from './health/health.controller';
export { ShutdownState } from './health/shutdown-state';
export { Observability, type ObservabilityOptions } from './observability/observability';
export {
  type ModuleCounter,
  type ModuleGauge,
  type ModuleHistogram,
  ModuleMetrics,
  ObservabilityModule,
} from './observability/observability.module';
export { PlatformMetrics, SECONDS_BUCKETS } from './observability/metrics/platform-metrics';
export type { ScrapeCollector } from './observability/metrics/scrape-collectors';
export { PlatformMessagingObserver } from './observability/messaging-observer';
export { type LogContext, currentLogContext, withLogContext } from './observability/logging/log-context';
export { type PinoLoggerOptions, PinoNestLogger, createPino } from './observability/logging/pino-logger';
export { scrubSecrets } from './observability/logging/redaction';
export { requestIdOf } from './observability/logging/request-context';
export {
  type TracingOptions,
  activeTraceId,
  exporterConfigured,
  startTracing,
  stopTracing,
  tracingStarted,
} from './observability/tracing/tracing';
export {
  type ModuleReport,
  type ModuleReportOptions,
  type ModuleReportRow,
  type Sample,
  moduleReport,
  parsePrometheusText,
} from './observability/module-report/module-report';
export { PlatformModule, type PlatformOptions } from './platform.module';
export {
  type HostPlacement,
  HostModule,
  type ModuleServiceDefinition,
  type ModuleServiceSettings,
  type Running,
  type ServeOptions,
  assertPlacementReady,
  configOrExit,
  createLogger,
  drainOnSignals,
  moduleServiceSettings,
  platformOptions,
  runMain,
  serve,
  serveOpenApi,
  startModuleService,
} from './host/host';
export { type ConfigureModule, type DiscoveredModule, type ModuleImport, PLATFORM_LIBS, discoverModules } from './host/module-discovery';
export { FAST_MESSAGING, TEST_ADMIN_TOKEN, createTestApp, type TestApp, type TestAppOptions } from './testing/test-app';
export { TEST_SERVER_ENV, appDatabaseEnv, createTestDatabase, type TestDatabase } from './testing/test-database';
export {
  RedisServer,
  type RedisServerOptions,
  describeWithRedis,
  dropBullMqPrefix,
  hasRedisServerBinary,
  probeRedis,
  testRedisUrl,
  uniqueBullMqPrefix,
} from './testing/redis';
export { freePort } from './testing/free-port';
export { LateServer } from './testing/late-server';
export {
  ApiIdempotencyKey,
  ApiJsonBody,
  ApiPathParam,
  ApiResult,
  ApiSummary,
  ProblemSchema,
  openApiDocument,
  openApiSchema,
} from './http/openapi';
export * from './messaging';
