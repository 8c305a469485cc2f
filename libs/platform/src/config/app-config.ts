import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);

/** MODULE_DB_SECRET's default, for a laptop's embedded PostgreSQL only. */
export const DEV_MODULE_DB_SECRET = 'monolith-first-dev-only';
/** The secret the test suite and the benchmarks use (on throwaway databases). */
export const TEST_MODULE_DB_SECRET = 'test-secret-not-for-production';

/**
 * Secrets that are published (in this repository, its history or its docs) and so protect nothing: the defaults,
 * the values docker-compose.yml once carried, the test suite's. A fork can add its own leaked values here.
 */
export const PUBLIC_SECRETS: readonly string[] = [
  DEV_MODULE_DB_SECRET,
  TEST_MODULE_DB_SECRET,
  'change-me-compose-secret',
  'change-me-admin-token-0123456789',
  'test-admin-token-0123456789',
];

/** A comma-separated list of host or module names (lower-case letters, digits, underscores), e.g. `billing,inventory`. */
const nameList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'must be a comma-separated list of names such as billing,inventory')));

/** Every setting the platform reads, validated once at start so a typo fails fast with a clear message. */
export const AppConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: port.default(3000),
  /** Interface to listen on. Containers need 0.0.0.0; a laptop is safer with loopback. */
  HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address such as 127.0.0.1 or 0.0.0.0' })
    .default('127.0.0.1'),
  /** An external PostgreSQL server. Without it an embedded PostgreSQL is started under DATA_DIR. */
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/app' })
    .optional(),
  /**
   * An admin connection (may create roles and schemas): with it the app provisions and migrates its modules at start.
   * Without it (production), the app connects with module credentials only; `npm run migrate` does the rest.
   */
  DATABASE_ADMIN_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL, e.g. postgres://admin:secret@db:5432/app' })
    .optional(),
  /** Prefix of the module roles (names are cluster-wide). Default: the database name. */
  DB_ROLE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,23}$/, 'must be 1–24 lower-case letters, digits or underscores, starting with a letter')
    .optional(),
  /** Database connections this process may hold in all: one for the relays' presence, the rest shared by its modules. */
  DB_CONNECTIONS: z.coerce.number().int().min(2).max(200).default(12),
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: port.default(54329),
  /**
   * Secret from which each module's database role password is derived. The default is public: it is refused in
   * production and whenever DATABASE_URL is set (see assertSafeToServe).
   */
  MODULE_DB_SECRET: z.string().min(8, 'must be at least 8 characters').default(DEV_MODULE_DB_SECRET),
  /** Token required by the admin endpoints (dead letters, ledger verification). Unset: they refuse everything. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** How long an Idempotency-Key's response is kept for repeats (ms); expired keys are deleted every 10 minutes. */
  IDEMPOTENCY_RETENTION_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .max(30 * 24 * 60 * 60_000)
    .default(24 * 60 * 60_000),
  /**
   * `jwt`: business endpoints need `Authorization: Bearer <JWT>` (docs: README, Authentication). `off`: no token is
   * checked and every caller acts as an operator (the admin scope still needs ADMIN_TOKEN). Default: `jwt` when
   * NODE_ENV=production, else `off`, so `npm start` needs no set-up.
   */
  AUTH_MODE: z.enum(['off', 'jwt']).optional(),
  /** HS256 shared secret that signs the tokens (at least 32 characters; `openssl rand -base64 32`). */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters: generate one with `openssl rand -base64 32`').optional(),
  /** Or: the identity provider's JSON Web Key Set (RS256, PS256, ES256, EdDSA tokens). */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an https:// URL of a JSON Web Key Set' }).optional(),
  /** The `iss` every token must carry (unset: not checked). */
  AUTH_ISSUER: z.string().min(1).optional(),
  /** The `aud` every token must carry. */
  AUTH_AUDIENCE: z.string().min(1).default('monolith-first'),
  /** Clock skew allowed when checking `exp` and `nbf`. */
  AUTH_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(300).default(5),
  /** `json`: one JSON object per line; `pretty`: readable lines (pino-pretty, installed in development). Default: json in production, else pretty. */
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  /** Lowest level logged. */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  /** One line per HTTP request (method, route, status, duration, request id). The request id is on every line either way. */
  LOG_REQUESTS: z.stringbool({ error: 'must be true or false' }).default(true),
  /** `GET /metrics` in Prometheus' text format. */
  METRICS_ENABLED: z.stringbool({ error: 'must be true or false' }).default(true),
  /** When set, `/metrics` needs `Authorization: Bearer <METRICS_TOKEN>` (configure the scraper with it). Unset: public. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * OpenTelemetry, read by the SDK itself (started before Nest): OTEL_SDK_DISABLED=true turns tracing off; spans are
   * exported only with OTEL_TRACES_EXPORTER or OTEL_EXPORTER_OTLP_ENDPOINT; OTEL_SERVICE_NAME names the process.
   */
  OTEL_SDK_DISABLED: z.stringbool({ error: 'must be true or false' }).default(false),
  /** Database spans (pg instrumentation): one per statement, so off by default. */
  OTEL_INSTRUMENT_PG: z.stringbool({ error: 'must be true or false' }).default(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL, e.g. http://jaeger:4318' }).optional(),
  /** How long a relay owns the outbox messages it claimed; after a crash, others take them over once it runs out. */
  RELAY_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  /** The relay's backstop poll (LISTEN/NOTIFY wakes it at once after a commit). */
  RELAY_POLL_INTERVAL_MS: z.coerce.number().int().min(5).max(60_000).default(1_000),
  /** The saga's re-send interval: how long a step waits for its reply, after delivery, before re-sending the command. */
  SAGA_STEP_TIMEOUT_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  /** Patience of the stock reservation, counted from delivery; past it the order is cancelled TIMED_OUT. Default 2 min. */
  SAGA_RESERVE_DEADLINE_MS: z.coerce.number().int().min(50).max(604_800_000).optional(),
  /** Patience of the payment capture, counted from delivery; past it the order is cancelled TIMED_OUT. Default 5 min. */
  SAGA_PAYMENT_DEADLINE_MS: z.coerce.number().int().min(50).max(604_800_000).optional(),
  /** Patience of the whole order (its steps added up) until it is confirmed or given up. Default 15 min. */
  SAGA_ORDER_DEADLINE_MS: z.coerce.number().int().min(50).max(2_592_000_000).optional(),
  /** Deprecated (use the deadlines): when set without them, each step's deadline is SAGA_MAX_ATTEMPTS × SAGA_STEP_TIMEOUT_MS. */
  SAGA_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).optional(),
  /** Sends of a compensation (refund, release, return, commit) before the order is parked for attention. */
  SAGA_COMPENSATION_ATTEMPTS: z.coerce.number().int().min(1).max(1_000).default(20),
  /** Ceiling of the doubling delay between re-sends of a compensation. */
  SAGA_COMPENSATION_MAX_DELAY_MS: z.coerce.number().int().min(50).max(86_400_000).default(60_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /**
   * How long a starting process waits for an external PostgreSQL (DATABASE_URL) and for Redis to accept connections,
   * logging each wait, before it gives up. 0: fail at once.
   */
  STARTUP_RETRY_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /**
   * The extraction switch: modules that run in their own service (apps/<module>-service) instead of in this process.
   * Their code is not loaded; their messages go over BullMQ on REDIS_URL. Empty: everything in process, no Redis.
   */
  REMOTE_MODULES: nameList.default([]),
  /** Redis for the BullMQ transport (only used when some module runs remote). */
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// URL, e.g. redis://127.0.0.1:6379' })
    .default('redis://127.0.0.1:6379'),
  /**
   * The other hosts this process sends its messages to over BullMQ. Default: the monolith sends to the hosts in
   * REMOTE_MODULES; an extracted service sends to `monolith`.
   */
  PEER_HOSTS: nameList.optional(),
  /** Redis key prefix of the BullMQ queues; hosts that talk to each other must share it. */
  BULLMQ_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, - or _ (no colon)')
    .default('mf'),
  /** Messages one host applies in parallel from its queue (each in its own consumer transaction). */
  BULLMQ_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  /** How long a worker holds a job before another may take it over (a killed worker's jobs wait this long). */
  BULLMQ_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /**
   * Failure drills only (docs/drills.md): `crash` adds a consumer that SIGKILLs the process on
   * platform.fault-injection.crash.v1 and GET /admin/fault-injection. Allowed with NODE_ENV=production (the drill
   * runs the apps as in production), with a loud warning at start. Never on by default.
   */
  FAULT_INJECTION: z.enum(['off', 'crash']).default('off'),
});
export type AppConfig = z.infer<typeof AppConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every bad variable and what it must be. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const result = AppConfigSchema.safeParse(emptyToUndefined(env));
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nFix the environment variables above and start again.`);
  }
  return result.data;
}

/** LOG_FORMAT as it applies: the explicit value, else `json` in production and `pretty` elsewhere. */
export function logFormatOf(config: Pick<AppConfig, 'LOG_FORMAT' | 'NODE_ENV'>): 'pretty' | 'json' {
  return config.LOG_FORMAT ?? (config.NODE_ENV === 'production' ? 'json' : 'pretty');
}

/** AUTH_MODE as it applies: the explicit value, else `jwt` in production and `off` elsewhere. */
export function authModeOf(config: Pick<AppConfig, 'AUTH_MODE' | 'NODE_ENV'>): 'off' | 'jwt' {
  return config.AUTH_MODE ?? (config.NODE_ENV === 'production' ? 'jwt' : 'off');
}

/**
 * The checks a server (not a tool such as the messages CLI) passes before it starts: no public secret where it would
 * protect real data (production, or an external database: `externalDatabase`, DATABASE_URL by default), and an
 * authentication set-up that can verify tokens. Throws a ConfigError naming every problem and how to fix it.
 */
export function assertSafeToServe(config: AppConfig, externalDatabase = Boolean(config.DATABASE_URL)): void {
  const problems: string[] = [];
  const strict = config.NODE_ENV === 'production' || externalDatabase;
  const where = config.NODE_ENV === 'production' ? 'in production' : 'with an external database (DATABASE_URL)';
  const publicValue = (value: string | undefined) =>
    value !== undefined && PUBLIC_SECRETS.includes(value) && !(value === TEST_MODULE_DB_SECRET && config.NODE_ENV === 'test');
  const secrets = { MODULE_DB_SECRET: config.MODULE_DB_SECRET, ADMIN_TOKEN: config.ADMIN_TOKEN, AUTH_JWT_SECRET: config.AUTH_JWT_SECRET };
  for (const [name, value] of Object.entries(secrets)) {
    if (strict && publicValue(value)) {
      const unset = name === 'MODULE_DB_SECRET' && value === DEV_MODULE_DB_SECRET ? ' (unset, so its default)' : '';
      problems.push(
        `${name}: the value${unset} is public and refused ${where}. Set a secret of your own, e.g. from \`openssl rand -base64 32\`.`,
      );
    }
  }
  if (authModeOf(config) === 'jwt') {
    if (!config.AUTH_JWT_SECRET && !config.AUTH_JWKS_URL) {
      problems.push(
        `AUTH_MODE${config.AUTH_MODE ? '' : ' (jwt, the default in production)'}: set AUTH_JWT_SECRET (HS256, e.g. \`openssl rand -base64 32\`) ` +
          "or AUTH_JWKS_URL (your identity provider's keys) so that tokens can be verified, or set AUTH_MODE=off to run without authentication.",
      );
    }
    if (config.AUTH_JWT_SECRET && config.AUTH_JWKS_URL) {
      problems.push('AUTH_JWT_SECRET and AUTH_JWKS_URL: set one of them, not both.');
    }
    const jwks = config.AUTH_JWKS_URL ? new URL(config.AUTH_JWKS_URL) : undefined;
    if (jwks?.protocol === 'http:' && config.NODE_ENV === 'production' && !['127.0.0.1', 'localhost', '[::1]'].includes(jwks.hostname)) {
      problems.push('AUTH_JWKS_URL: must be https:// in production (keys fetched over http could be replaced on the way).');
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}\nFix the environment variables above and start again.`,
    );
  }
}

function emptyToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]));
}
