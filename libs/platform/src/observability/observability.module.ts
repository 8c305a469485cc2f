import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { ModuleDatabases } from '../database/database.module';
import { SECONDS_BUCKETS } from './metrics/platform-metrics';
import { ModuleReportController } from './module-report/module-report.controller';
import { MetricsController } from './metrics/metrics.controller';
import type { ScrapeCollector } from './metrics/scrape-collectors';
import { Observability } from './observability';

/** Gives every module database the hook that measures how long each unit of work holds a connection. */
@Injectable()
class DatabaseTimers implements OnApplicationBootstrap {
  constructor(
    @Inject(Observability) private readonly observability: Observability,
    private readonly databases: ModuleDatabases,
  ) {}

  onApplicationBootstrap(): void {
    const metrics = this.observability.metrics;
    if (!metrics) return;
    for (const module of this.databases.modules()) {
      const db = this.databases.get(module);
      if (db) db.observeWork = (kind, seconds) => metrics.dbDuration.observe({ module, kind }, seconds);
    }
  }
}

type Labels = Record<string, string>;
/** A counter, histogram or gauge of a module; with metrics off, one that records nothing. */
export interface ModuleCounter {
  inc(labels?: Labels, by?: number): void;
}
export interface ModuleHistogram {
  observe(labels: Labels, value: number): void;
}
export interface ModuleGauge {
  set(labels: Labels, value: number): void;
}

const IGNORE = { inc: () => undefined, observe: () => undefined, set: () => undefined };

/**
 * What a business module uses to publish metrics of its own without importing a metrics library: counters and
 * histograms it records after a commit, gauges it sets when Prometheus scrapes (from its own tables). Names should
 * start with the module's name (`orders_...`); labels must stay bounded (a status, a reason; never an id).
 */
@Injectable()
export class ModuleMetrics {
  constructor(@Inject(Observability) private readonly observability: Observability) {}

  counter(name: string, help: string, labelNames: readonly string[] = []): ModuleCounter {
    const registry = this.observability.metrics?.registry;
    if (!registry) return IGNORE;
    const counter = new Counter({ name, help, labelNames, registers: [registry] });
    return { inc: (labels = {}, by = 1) => counter.inc(labels, by) };
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets = SECONDS_BUCKETS): ModuleHistogram {
    const registry = this.observability.metrics?.registry;
    if (!registry) return IGNORE;
    const histogram = new Histogram({ name, help, labelNames, buckets, registers: [registry] });
    return { observe: (labels, value) => histogram.observe(labels, value) };
  }

  /** A gauge whose values `collect` sets before every scrape; a failing collect leaves it out of that scrape. */
  gauge(name: string, help: string, labelNames: readonly string[], collect: (gauge: ModuleGauge) => Promise<void>): void {
    const metrics = this.observability.metrics;
    if (!metrics) return;
    const gauge = new Gauge({ name, help, labelNames, registers: [metrics.registry] });
    const collector: ScrapeCollector = async () => {
      gauge.reset();
      await collect({ set: (labels, value) => gauge.set(labels, value) });
    };
    this.observability.collectors.push(collector);
  }
}

/** /metrics and /admin/modules/report, the database timers and ModuleMetrics; PlatformModule imports it. */
@Module({})
export class ObservabilityModule {
  static forRoot(observability: Observability): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      controllers: observability.metrics ? [MetricsController, ModuleReportController] : [],
      providers: [{ provide: Observability, useValue: observability }, DatabaseTimers, ModuleMetrics],
      exports: [Observability, ModuleMetrics],
    };
  }
}
