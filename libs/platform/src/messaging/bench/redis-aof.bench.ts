/**
 * `npm run bench:redis-aof`: what Redis' AOF fsync policy costs and risks for the BullMQ transport.
 *
 * For `appendfsync always` and `everysec`, several rounds of: a fresh redis-server (AOF on, no RDB), producers that
 * enqueue messages through BullMqClient as fast as they can (4 at a time, 50 per addBulk, as the relay does), a
 * SIGKILL of Redis at a random moment, a restart on the same data, then a count of the acknowledged jobs that are
 * still there. Prints throughput (acknowledged messages per second) and losses per mode.
 *
 * A SIGKILL kills the process, not the machine: what Redis wrote (write(2)) before answering is in the kernel's page
 * cache and survives, whatever the fsync policy. `everysec` risks the last second or so of acknowledged writes only
 * when the machine itself goes down (power loss, kernel panic, a VM killed hard), which this script cannot do.
 * Options: ROUNDS (default 5), MS (enqueue time before the kill, default 1500).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createEnvelope } from '../core/envelope';
import { BullMqClient } from '../transports/bullmq/bullmq-client';
import { producerConnection } from '../transports/bullmq/redis';
import { freePort } from '../../testing/free-port';
import { RedisServer, hasRedisServerBinary } from '../../testing/redis';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const MS = Number(process.env.MS ?? 1_500);
const PRODUCERS = 4;
const BATCH = 50;

interface Round {
  acked: number;
  lost: number;
  perSecond: number;
}

async function round(appendfsync: 'always' | 'everysec'): Promise<Round> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mf-aof-'));
  const redis = new RedisServer({ port: await freePort(), dir, appendonly: true, appendfsync });
  await redis.start();
  const client = new BullMqClient({ connection: producerConnection(redis.url), prefix: 'aof', queue: 'q' });
  await client.connect();
  const acked: string[] = [];
  let running = true;
  const started = Date.now();
  const producer = async () => {
    while (running) {
      const batch = Array.from({ length: BATCH }, (_, i) => createEnvelope('bench', 'bench.note.v1', { i }, { key: String(i) }));
      try {
        await client.enqueue(batch);
        if (running) acked.push(...batch.map((e) => e.id));
      } catch {
        return; // Redis is gone: this batch was not acknowledged
      }
    }
  };
  const producers = Array.from({ length: PRODUCERS }, producer);
  await new Promise((r) => setTimeout(r, MS * (0.5 + Math.random())));
  const killedAfter = Date.now() - started;
  const ackedBeforeKill = acked.length; // acknowledged before the kill signal
  running = false;
  await redis.kill();
  await Promise.all(producers);
  await client.close();
  await redis.start();
  const check = new Redis(redis.url);
  let present = 0;
  const ids = acked.slice(0, ackedBeforeKill);
  for (let i = 0; i < ids.length; i += 1_000) {
    const pipeline = check.pipeline();
    for (const id of ids.slice(i, i + 1_000)) pipeline.exists(`aof:q:${id}`);
    for (const [, n] of (await pipeline.exec()) ?? []) present += Number(n);
  }
  check.disconnect();
  await redis.kill();
  rmSync(dir, { recursive: true, force: true });
  return { acked: ackedBeforeKill, lost: ackedBeforeKill - present, perSecond: Math.round((ackedBeforeKill / killedAfter) * 1_000) };
}

async function main(): Promise<void> {
  if (!hasRedisServerBinary()) throw new Error('redis-server is not on the PATH; install Redis to run this measurement.');
  console.log(
    `Redis AOF, SIGKILL of redis-server while ${PRODUCERS} producers enqueue (addBulk of ${BATCH}); ${ROUNDS} rounds per mode.\n`,
  );
  console.log('| appendfsync | rounds | acknowledged before the kill | lost after restart | enqueue rate (messages/s, median) |');
  console.log('| ----------- | ------ | ---------------------------- | ------------------ | --------------------------------- |');
  const modes = ['always', 'everysec'] as const;
  const results = new Map<string, Round[]>(modes.map((m) => [m, []]));
  // Alternate the modes, so a slow moment of the machine does not land on one mode only.
  for (let i = 0; i < ROUNDS; i++) for (const mode of i % 2 ? [...modes].reverse() : modes) results.get(mode)!.push(await round(mode));
  for (const mode of modes) {
    const rounds = results.get(mode)!;
    const rates = rounds.map((r) => r.perSecond).sort((a, b) => a - b);
    const sum = (f: (r: Round) => number) => rounds.reduce((n, r) => n + f(r), 0);
    console.log(`| ${mode} | ${ROUNDS} | ${sum((r) => r.acked)} | ${sum((r) => r.lost)} | ${rates[Math.floor(rates.length / 2)]} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
