import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleDatabases } from '../database/database.module';
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

/**
 * What a business module uses to publish metrics of its own without a metrics library: a gauge read when Prometheus
 * scrapes (from the module's own tables), and the registry-backed counters and histograms of prom-client.
 */
@Injectable()
export class ModuleMetrics {
  constructor(@Inject(Observability) private readonly observability: Observability) {}

  /** The registry to register a module's metrics in, or undefined when metrics are off (then record nothing). */
  get registry() {
    return this.observability.metrics?.registry;
  }

  /** Runs `collect` before every scrape (set gauges there); a failure leaves its gauges out of that scrape. */
  onScrape(collect: ScrapeCollector): void {
    if (this.observability.metrics) this.observability.collectors.push(collect);
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
