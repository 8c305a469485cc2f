import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);

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
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: port.default(54329),
  /** Secret from which each module's database role password is derived. Required in production. */
  MODULE_DB_SECRET: z.string().min(8, 'must be at least 8 characters').default('monolith-first-dev-only'),
  /** Token required by the admin endpoints (dead letters). Unset: the admin endpoints refuse everything. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
  /** How long a relay owns the outbox messages it claimed; after a crash, others take them over once it runs out. */
  RELAY_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  /** The relay's backstop poll (LISTEN/NOTIFY wakes it at once after a commit). */
  RELAY_POLL_INTERVAL_MS: z.coerce.number().int().min(5).max(60_000).default(1_000),
  /** How long a saga step waits for its reply before re-sending the command. */
  SAGA_STEP_TIMEOUT_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  /** How many times a saga step is sent before the order is compensated with TIMED_OUT. */
  SAGA_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
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
  const config = result.data;
  if (config.NODE_ENV === 'production' && config.MODULE_DB_SECRET === AppConfigSchema.shape.MODULE_DB_SECRET.parse(undefined)) {
    throw new ConfigError('Invalid configuration:\n  MODULE_DB_SECRET: must be set in production (the default is public).');
  }
  return config;
}

function emptyToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]));
}
