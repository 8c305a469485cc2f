/**
 * The module report: where the time of each module goes, how much it talks across its boundary per business
 * operation, and what extracting it would add. Computed from the platform's own metrics (a running instance's
 * /metrics, or its registry), so it reads the same numbers Prometheus does. docs/extracting-a-service.md says how to
 * read it. Pure: no I/O, so the admin endpoint and `npm run report:modules` share it.
 */

/** One Prometheus sample: `name{labels} value` (histograms as their _bucket, _sum and _count series). */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ModuleReportOptions {
  /** Seconds between `before` and `now` (or the process's uptime when there is no `before`). */
  windowSeconds: number;
  /** A scrape taken `windowSeconds` earlier: the report is then about that window, not the whole life of the process. */
  before?: readonly Sample[];
  /** The business operation the coupling is counted per: an HTTP route and method, default `POST /orders`. */
  operation?: string;
  /** What one extra hop costs when a module is extracted (from `npm run bench`, extracted against monolith). */
  hopLatencyMs?: number;
  hopCpuMs?: number;
}

export interface ModuleReportRow {
  module: string;
  /** Seconds spent in its handlers' inbox transactions, and their share of all modules' handler time. */
  handlerSeconds: number;
  handlerShare: number;
  /** Seconds its connections were held (transactions, queries, relay bookkeeping), and the share of all modules'. */
  databaseSeconds: number;
  databaseShare: number;
  requestsPerSecond: number;
  messagesPerSecond: number;
  /** p99 of its HTTP requests and of its handlings (ms; null without observations). */
  requestP99Ms: number | null;
  handlerP99Ms: number | null;
  /** Messages crossing its boundary per operation: into it (handled here, produced by another module) and out of it. */
  inPerOperation: number | null;
  outPerOperation: number | null;
  /** What extracting it would add per operation, from the hop cost: every crossing becomes a hop over the broker. */
  extraction: { addedLatencyMs: number | null; addedCpuMs: number | null; hopsPerOperation: number | null };
}

export interface ModuleReport {
  windowSeconds: number;
  operation: { name: string; count: number; perSecond: number };
  hop: { latencyMs: number | null; cpuMs: number | null };
  modules: ModuleReportRow[];
}

const keyOf = (s: Sample) =>
  `${s.name}|${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`;

/** `now` minus `before`, series by series (a series absent before counts from zero; a reset process from its value). */
function delta(now: readonly Sample[], before?: readonly Sample[]): Sample[] {
  if (!before) return [...now];
  const earlier = new Map(before.map((s) => [keyOf(s), s.value]));
  return now.map((s) => {
    const was = earlier.get(keyOf(s)) ?? 0;
    return { ...s, value: s.value >= was ? s.value - was : s.value };
  });
}

function sum(samples: readonly Sample[], name: string, match: (labels: Record<string, string>) => boolean = () => true): number {
  let total = 0;
  for (const s of samples) if (s.name === name && match(s.labels)) total += s.value;
  return total;
}

/** The 99th percentile of a histogram's buckets (upper bound of the bucket that holds it), in ms. */
function p99Ms(samples: readonly Sample[], histogram: string, match: (labels: Record<string, string>) => boolean): number | null {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${histogram}_bucket` || !match(s.labels)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const sorted = [...buckets.entries()].sort(([a], [b]) => a - b);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const bound = sorted.find(([, n]) => n >= total * 0.99)?.[0] ?? Infinity;
  return Number.isFinite(bound) ? bound * 1000 : (sorted.at(-2)?.[0] ?? 0) * 1000;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export function moduleReport(now: readonly Sample[], options: ModuleReportOptions): ModuleReport {
  const samples = delta(now, options.before);
  const window = Math.max(options.windowSeconds, 1e-9);
  const modules = new Set<string>();
  for (const s of samples) {
    if (s.labels.module && (s.name.startsWith('messaging_') || s.name.startsWith('db_'))) modules.add(s.labels.module);
  }
  const moduleOfRoute = (route: string | undefined) => route?.split('/')[1] ?? '';

  // who produces and who consumes each type, from what was seen
  const producers = new Map<string, Set<string>>();
  const consumers = new Map<string, Set<string>>();
  for (const s of samples) {
    if (s.value <= 0 || !s.labels.type) continue;
    if (s.name === 'messaging_published_total')
      (producers.get(s.labels.type) ?? producers.set(s.labels.type, new Set()).get(s.labels.type)!).add(s.labels.module);
    if (s.name === 'messaging_handler_duration_seconds_count')
      (consumers.get(s.labels.type) ?? consumers.set(s.labels.type, new Set()).get(s.labels.type)!).add(s.labels.module);
  }

  const [method, ...routeParts] = (options.operation ?? 'POST /orders').trim().split(/\s+/);
  const route = routeParts.join(' ');
  const operations = sum(
    samples,
    'http_request_duration_seconds_count',
    (l) => l.method === method && l.route === route && Number(l.status) < 400,
  );
  const handlerTotal = sum(samples, 'messaging_handler_duration_seconds_sum');
  const dbTotal = sum(samples, 'db_transaction_duration_seconds_sum');
  const hopLatency = options.hopLatencyMs ?? null;
  const hopCpu = options.hopCpuMs ?? null;

  const rows = [...modules].sort().map((module): ModuleReportRow => {
    const ofModule = (l: Record<string, string>) => l.module === module;
    const handlerSeconds = sum(samples, 'messaging_handler_duration_seconds_sum', ofModule);
    const databaseSeconds = sum(samples, 'db_transaction_duration_seconds_sum', ofModule);
    const requests = sum(samples, 'http_request_duration_seconds_count', (l) => moduleOfRoute(l.route) === module);
    const handled = sum(samples, 'messaging_handler_duration_seconds_count', ofModule);
    // out: what it published that another module consumes; in: what it handled that another module produced
    const out = sum(
      samples,
      'messaging_published_total',
      (l) => l.module === module && [...(consumers.get(l.type) ?? [])].some((c) => c !== module),
    );
    const into = sum(
      samples,
      'messaging_handler_duration_seconds_count',
      (l) => l.module === module && l.result !== 'failed' && [...(producers.get(l.type) ?? [])].some((p) => p !== module),
    );
    const perOp = (n: number) => (operations > 0 ? round(n / operations) : null);
    const hops = operations > 0 ? (into + out) / operations : null;
    return {
      module,
      handlerSeconds: round(handlerSeconds),
      handlerShare: handlerTotal > 0 ? round(handlerSeconds / handlerTotal) : 0,
      databaseSeconds: round(databaseSeconds),
      databaseShare: dbTotal > 0 ? round(databaseSeconds / dbTotal) : 0,
      requestsPerSecond: round(requests / window),
      messagesPerSecond: round(handled / window),
      requestP99Ms: p99Ms(samples, 'http_request_duration_seconds', (l) => moduleOfRoute(l.route) === module),
      handlerP99Ms: p99Ms(samples, 'messaging_handler_duration_seconds', ofModule),
      inPerOperation: perOp(into),
      outPerOperation: perOp(out),
      extraction: {
        hopsPerOperation: hops === null ? null : round(hops),
        addedLatencyMs: hops === null || hopLatency === null ? null : round(hops * hopLatency, 1),
        addedCpuMs: hops === null || hopCpu === null ? null : round(hops * hopCpu, 1),
      },
    };
  });
  return {
    windowSeconds: round(window, 1),
    operation: { name: `${method} ${route}`, count: operations, perSecond: round(operations / window) },
    hop: { latencyMs: hopLatency, cpuMs: hopCpu },
    modules: rows,
  };
}

/** Parses the Prometheus text exposition format (what /metrics serves) into samples. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}
