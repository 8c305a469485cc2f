import { Logger } from '@nestjs/common';
import { waitForDatabase } from '../database/database-server';
import { assertRedisReachable } from '../messaging/transports/bullmq/redis';
import { freePort } from '../testing/free-port';
import { LateServer } from '../testing/late-server';
import { describeWithRedis } from '../testing/redis';
import { TEST_SERVER_ENV } from '../testing/test-database';
import { retryStartup } from './startup-retry';

/** Hooks that capture the start-up waits logged, and (given a target) put a fresh LateServer in front of it per test. */
function startupWaits(target?: () => URL): { readonly warnings: string[]; readonly late: LateServer } {
  const state = { warnings: [] as string[] } as { warnings: string[]; late: LateServer };
  beforeEach(async () => {
    state.warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void state.warnings.push(String(message)));
    if (target) state.late = new LateServer(await freePort(), target());
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await state.late?.close();
  });
  return state;
}

describe('retryStartup', () => {
  const t = startupWaits();

  it('tries again until the attempt succeeds, logging each wait with what it waits for', async () => {
    let calls = 0;
    const result = await retryStartup(
      'the flux capacitor',
      () => (++calls < 3 ? Promise.reject(new Error(`not charged (${calls})`)) : Promise.resolve('charged')),
      { retryMs: 10_000, firstDelayMs: 5 },
    );
    expect(result).toBe('charged');
    expect(t.warnings).toEqual([
      expect.stringMatching(
        /^Waiting for the flux capacitor: not charged \(1\)\. Trying again in 5 ms \(giving up in 10 s; STARTUP_RETRY_MS=10000\)\.$/,
      ),
      expect.stringMatching(/^Waiting for the flux capacitor: not charged \(2\)\. Trying again in 10 ms/),
    ]);
  });

  it('fails at once with retryMs 0, and on an error that waiting cannot fix', async () => {
    await expect(retryStartup('x', () => Promise.reject(new Error('down')), { retryMs: 0 })).rejects.toThrow('down');
    const permanent = retryStartup('x', () => Promise.reject(new Error('wrong password')), {
      retryMs: 10_000,
      retryable: (e) => !e.message.includes('password'),
    });
    await expect(permanent).rejects.toThrow('wrong password');
    expect(t.warnings).toEqual([]);
  });

  it('gives up once retryMs has passed, with the last error', async () => {
    let calls = 0;
    await expect(retryStartup('x', () => Promise.reject(new Error(`down ${++calls}`)), { retryMs: 300, firstDelayMs: 50 })).rejects.toThrow(
      /^down \d+$/,
    );
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBe(t.warnings.length + 1);
  });
});

describe('waiting for PostgreSQL at start-up (external DATABASE_URL)', () => {
  const t = startupWaits(() => new URL(process.env[TEST_SERVER_ENV]!));

  it('waits for a server that appears after a while', async () => {
    const appearing = t.late.appearAfter(1_500);
    await waitForDatabase(t.late.url(), 30_000);
    await appearing;
    expect(t.warnings.length).toBeGreaterThan(0);
    expect(t.warnings[0]).toContain(`Waiting for PostgreSQL at ${t.late.url().replace(/:[^:@/]*@/, ':***@')}: `);
    expect(t.warnings[0]).toContain('ECONNREFUSED');
  });

  it('STARTUP_RETRY_MS=0 fails at once, saying where and what to do', async () => {
    await expect(waitForDatabase(t.late.url(), 0)).rejects.toThrow(
      /^PostgreSQL at .* did not accept a connection: .*ECONNREFUSED.*\. Check that the server runs and that DATABASE_URL .* is right, or set STARTUP_RETRY_MS to wait longer/,
    );
    expect(t.warnings).toEqual([]);
  });

  it('gives up after STARTUP_RETRY_MS when nothing appears', async () => {
    await expect(waitForDatabase(t.late.url(), 700)).rejects.toThrow(/did not accept a connection after trying for 0\.7 s: .*ECONNREFUSED/);
    expect(t.warnings.length).toBeGreaterThan(0);
  });

  it('does not wait when the server answers with an error (here: no such database)', async () => {
    await t.late.appearAfter(0);
    await expect(waitForDatabase(t.late.url('/no_such_database_here'), 30_000)).rejects.toThrow(/no_such_database_here.*does not exist/);
    expect(t.warnings).toEqual([]);
  });
});

describeWithRedis('waiting for Redis at start-up', (redisUrl) => {
  const t = startupWaits(() => new URL(redisUrl));

  it('waits for a Redis that appears after a while', async () => {
    const appearing = t.late.appearAfter(1_500);
    await assertRedisReachable(t.late.url('/'), 'The test', { retryMs: 30_000, timeoutMs: 500 });
    await appearing;
    expect(t.warnings[0]).toMatch(/^Waiting for Redis at redis:\/\/127\.0\.0\.1:\d+\/? \(The test needs it\): .*ECONNREFUSED/);
  });

  it('fails at once with retryMs 0 and says what needs Redis', async () => {
    await expect(assertRedisReachable(t.late.url('/'), 'The test', { retryMs: 0, timeoutMs: 500 })).rejects.toThrow(
      /^The test needs Redis, which is not reachable at redis:\/\/127\.0\.0\.1:\d+\/? \(.*ECONNREFUSED.*\)\. Start Redis/,
    );
    expect(t.warnings).toEqual([]);
  });
});
