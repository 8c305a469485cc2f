// The queue peers of `npm run bench:outbox`, by name. Each has run(options) → result (README.md).
import * as graphileWorker from './graphile-worker.mjs';
import * as pgBoss from './pg-boss.mjs';

export const QUEUE_PEERS = {
  'pg-boss': { run: pgBoss.run, adapter: pgBoss.adapter, settings: pgBoss.SETTINGS },
  'graphile-worker': { run: graphileWorker.run, adapter: graphileWorker.adapter, settings: graphileWorker.SETTINGS },
};

/** One line of figures for a result (the CLI prints it; a bench can too). */
export function summaryLine(r) {
  const f = (v, d = 2) => (v === null || v === undefined ? '–' : v.toFixed(d));
  const ms = (h, p) => (h.getValueAtPercentile(p) / 1000).toFixed(2);
  const parts = [
    `${r.tool} ${r.version} ${r.mode} order=${r.order}`,
    `${r.messages} msgs / ${r.keys} keys in ${f(r.seconds)} s = ${Math.round(r.perSecond)} msg/s`,
    `CPU-s per 1k: node ${f(r.cpu.node, 3)}, postgres ${f(r.cpu.postgres, 3)} (${r.cpu.postgresProcesses} backends)`,
    `out of key order ${r.outOfOrder}`,
    ...(r.toolErrors.length ? [`tool errors ${r.toolErrors.length} (first: ${r.toolErrors[0]})`] : []),
  ];
  if (r.latencyUs) {
    const h = r.latencyUs;
    parts.push(
      `commit→handler ms p50 ${ms(h, 50)} p90 ${ms(h, 90)} p99 ${ms(h, 99)} max ${(h.maxValue / 1000).toFixed(2)} (n=${h.totalCount}, ${r.late} before commit returned)`,
      `scheduled→commit p99 ${ms(r.commitUs, 99)} ms`,
    );
  }
  return parts.join(' | ');
}
