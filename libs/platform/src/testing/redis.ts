import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pingRedis } from '../messaging/transports/bullmq/redis';

/** Set by the Jest global setup: the Redis the tests may use, or why there is none. */
export const TEST_REDIS_ENV = 'MONOLITH_FIRST_TEST_REDIS_URL';
export const TEST_REDIS_MISSING_ENV = 'MONOLITH_FIRST_TEST_REDIS_MISSING';

/** The URL tests use: REDIS_URL, else the local default. */
export function testRedisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** Pings Redis (Jest global setup); returns why it is unusable, or null. */
export function probeRedis(url: string, timeoutMs = 1_500): Promise<string | null> {
  return pingRedis(url, timeoutMs);
}

/**
 * `describe` for suites that need Redis (the extracted topology, the BullMQ transport). Without a reachable Redis the
 * suite is skipped with the reason printed, except under CI=true, where it fails: CI must run it.
 */
export function describeWithRedis(name: string, suite: (redisUrl: string) => void): void {
  const url = process.env[TEST_REDIS_ENV];
  if (url) return describe(name, () => suite(url));
  const reason =
    `Redis not reachable at ${testRedisUrl()} (${process.env[TEST_REDIS_MISSING_ENV] ?? 'not probed'}): the extracted-topology ` +
    `tests are skipped; start Redis (see README, "Extracting a module") to run them.`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Redis (CI=true: the extracted topology must be tested)', () => {
        throw new Error(reason.replace('are skipped', 'cannot be skipped under CI=true'));
      });
    });
    return;
  }
  console.warn(`${name}: ${reason}`);
  describe.skip(name, () => suite(testRedisUrl()));
}

/** Whether a `redis-server` binary is on the PATH (tests that crash their own Redis need one). */
export function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A BullMQ key prefix no other test file or earlier run shares. */
export function uniqueBullMqPrefix(what = 'test'): string {
  return `mf-${what}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under a BullMQ prefix (test teardown; queues of a test run never outlive it). */
export async function dropBullMqPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis gone: nothing to clean
  } finally {
    client.disconnect();
  }
}

export interface RedisServerOptions {
  port: number;
  /** Working directory: the AOF lives here, and survives kill + start. */
  dir: string;
  /** `always`: every acknowledged write is on disk (what at-least-once needs). `everysec`: up to ~1 s may be lost. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** false: no persistence at all. Default true. */
  appendonly?: boolean;
}

/** A redis-server child process of the test, to be killed and restarted on the same data. */
export class RedisServer {
  private child?: ChildProcess;

  constructor(readonly options: RedisServerOptions) {}

  get url(): string {
    return `redis://127.0.0.1:${this.options.port}`;
  }

  async start(timeoutMs = 10_000): Promise<void> {
    const { port, dir, appendfsync = 'always', appendonly = true } = this.options;
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no'];
    args.push('--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', appendfsync);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode} while starting`);
      if ((await probeRedis(this.url, 500)) === null) return;
      if (Date.now() > until) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: no shutdown, no final fsync; what is on disk is what survives. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
