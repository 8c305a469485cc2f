import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, assertSafeToServe, authModeOf, loadConfig } from './app-config';

const OWN = { MODULE_DB_SECRET: 'Qx3v9Lk2...own-secret', AUTH_JWT_SECRET: 'k'.repeat(32) };
const serving = (env: NodeJS.ProcessEnv) => () => assertSafeToServe(loadConfig(env));
const URL_ = 'postgres://app@db.internal:5432/app';

describe('configuration: secrets and authentication a server refuses', () => {
  it('starts with no set-up in development on the embedded PostgreSQL: public dev secret, authentication off', () => {
    const config = loadConfig({});
    expect(serving({})).not.toThrow();
    expect(authModeOf(config)).toBe('off');
  });

  it('refuses the public default secret in production, says how to make one, and asks for a token key', () => {
    expect(serving({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(serving({ NODE_ENV: 'production' })).toThrow(
      /MODULE_DB_SECRET: the value \(unset, so its default\) is public.*openssl rand -base64 32/,
    );
    expect(serving({ NODE_ENV: 'production', MODULE_DB_SECRET: OWN.MODULE_DB_SECRET })).toThrow(
      /AUTH_MODE \(jwt, the default in production\): set AUTH_JWT_SECRET.*or AUTH_JWKS_URL.*AUTH_MODE=off/,
    );
    expect(serving({ NODE_ENV: 'production', ...OWN })).not.toThrow();
  });

  it('refuses the public default whenever DATABASE_URL is set, even in development', () => {
    expect(serving({ DATABASE_URL: URL_ })).toThrow(/MODULE_DB_SECRET: .*public and refused with an external database/);
    expect(serving({ DATABASE_URL: URL_, MODULE_DB_SECRET: OWN.MODULE_DB_SECRET })).not.toThrow();
  });

  it.each([
    ['MODULE_DB_SECRET', 'change-me-compose-secret'],
    ['ADMIN_TOKEN', 'change-me-admin-token-0123456789'],
    ['ADMIN_TOKEN', 'test-admin-token-0123456789'],
    ['MODULE_DB_SECRET', 'test-secret-not-for-production'],
  ])('refuses %s=%s (published in the repository) in production', (name, value) => {
    expect(serving({ NODE_ENV: 'production', ...OWN, [name]: value })).toThrow(new RegExp(`${name}: the value is public`));
  });

  it('allows the test secret on an external database only with NODE_ENV=test (the test suite, the benchmarks)', () => {
    const env = { DATABASE_URL: URL_, MODULE_DB_SECRET: 'test-secret-not-for-production' };
    expect(serving({ ...env, NODE_ENV: 'test' })).not.toThrow();
    expect(serving(env)).toThrow(/MODULE_DB_SECRET/);
    expect(serving({ ...env, NODE_ENV: 'test', ADMIN_TOKEN: 'change-me-admin-token-0123456789' })).toThrow(/ADMIN_TOKEN/);
  });

  it('runs production without authentication only when AUTH_MODE=off is given explicitly', () => {
    expect(serving({ NODE_ENV: 'production', MODULE_DB_SECRET: OWN.MODULE_DB_SECRET, AUTH_MODE: 'off' })).not.toThrow();
    expect(authModeOf(loadConfig({ NODE_ENV: 'production' }))).toBe('jwt');
  });

  it('checks the token settings: a long enough secret, one key source, https keys in production', () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow(/AUTH_JWT_SECRET: must be at least 32 characters.*openssl/);
    expect(serving({ AUTH_MODE: 'jwt', ...OWN, AUTH_JWKS_URL: 'https://id.example/jwks' })).toThrow(/set one of them, not both/);
    const prod = { NODE_ENV: 'production', MODULE_DB_SECRET: OWN.MODULE_DB_SECRET };
    expect(serving({ ...prod, AUTH_JWKS_URL: 'http://id.example/jwks' })).toThrow(/AUTH_JWKS_URL: must be https/);
    expect(serving({ ...prod, AUTH_JWKS_URL: 'https://id.example/jwks' })).not.toThrow();
    expect(serving({ AUTH_MODE: 'jwt' })).toThrow(/set AUTH_JWT_SECRET/);
  });

  it('names every problem at once', () => {
    let message = '';
    try {
      assertSafeToServe(loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'change-me-admin-token-0123456789' }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.match(/^ {2}[A-Z_]+/gm)).toEqual(['  MODULE_DB_SECRET', '  ADMIN_TOKEN', '  AUTH_MODE']);
  });

  const main = path.resolve(__dirname, '../../../../dist/apps/monolith/src/main.js');
  (existsSync(main) ? it : it.skip)('the built monolith exits 78 (EX_CONFIG) with the message before it starts anything', () => {
    const run = spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', DATA_DIR: '/nonexistent/never-created' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/MODULE_DB_SECRET: the value \(unset, so its default\) is public and refused in production/);
    expect(existsSync('/nonexistent/never-created')).toBe(false);
  });
});

describe('configuration: fault injection (failure drills)', () => {
  it('is off unless FAULT_INJECTION=crash is given, allowed in production, and refuses other values', () => {
    expect(loadConfig({}).FAULT_INJECTION).toBe('off');
    expect(loadConfig({ NODE_ENV: 'production', FAULT_INJECTION: 'crash' }).FAULT_INJECTION).toBe('crash');
    expect(() => loadConfig({ FAULT_INJECTION: 'boom' })).toThrow(/FAULT_INJECTION/);
  });
});
