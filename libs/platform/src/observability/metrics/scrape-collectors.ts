import type { Queue } from 'bullmq';
import type { ModuleDatabases } from '../../database/database.module';
import type { MessagingModules } from '../../messaging/operations/dead-letters';
import type { BullMqPeers } from '../../messaging/transports/bullmq/bullmq-messaging';
import type { PlatformMetrics } from './platform-metrics';

/** A source of gauges read at scrape time (a module's own, e.g. orders' saga outcomes). */
export type ScrapeCollector = () => Promise<void>;

export interface ScrapeSources {
  databases: ModuleDatabases;
  messaging: MessagingModules;
  peers?: BullMqPeers;
  extra: readonly ScrapeCollector[];
}

/**
 * What is read when Prometheus scrapes, not on the hot path: per module one query over its outbox (count by type and
 * status, the oldest pending message's age), its pool's counters, and the depth of every peer's BullMQ queue. A source
 * that fails (a database restarting) leaves its gauges out of this scrape rather than failing it.
 */
export async function collectOnScrape(metrics: PlatformMetrics, sources: ScrapeSources): Promise<void> {
  metrics.outboxMessages.reset();
  metrics.outboxLag.reset();
  metrics.poolConnections.reset();
  metrics.queueJobs.reset();
  metrics.queueOldestWaiting.reset();
  const modules = await sources.messaging.modules();
  await Promise.allSettled([
    ...modules.map((module) => collectOutbox(metrics, sources.messaging, module)),
    ...(sources.peers?.clients ?? []).map((client) => collectQueue(metrics, client.queueName, () => client.unwrap<Queue>())),
    ...sources.extra.map((collect) => collect()),
  ]);
  for (const module of sources.databases.modules()) {
    const pool = sources.databases.get(module)?.pool;
    if (!pool) continue;
    metrics.poolConnections.set({ module, state: 'total' }, pool.totalCount);
    metrics.poolConnections.set({ module, state: 'idle' }, pool.idleCount);
    metrics.poolConnections.set({ module, state: 'in_use' }, pool.totalCount - pool.idleCount);
    metrics.poolConnections.set({ module, state: 'waiting' }, pool.waitingCount);
  }
}

async function collectOutbox(metrics: PlatformMetrics, messaging: MessagingModules, module: string): Promise<void> {
  const rows = await messaging.query<{ type: string; status: string; n: number; oldest_s: number | null }>(
    module,
    `SELECT type, status, count(*)::int AS n,
            CASE WHEN status = 'pending' THEN extract(epoch FROM now() - min(created_at))::float8 END AS oldest_s
       FROM "${module}".outbox GROUP BY type, status`,
  );
  let lag = 0;
  for (const r of rows) {
    metrics.outboxMessages.set({ module, type: r.type, status: r.status }, r.n);
    if (r.oldest_s !== null) lag = Math.max(lag, r.oldest_s);
  }
  metrics.outboxLag.set({ module }, lag);
}

async function collectQueue(metrics: PlatformMetrics, queueName: string, queueOf: () => Queue): Promise<void> {
  const queue = queueOf();
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
  for (const [state, n] of Object.entries(counts)) metrics.queueJobs.set({ queue: queueName, state }, n);
  const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
  metrics.queueOldestWaiting.set({ queue: queueName }, oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
}
