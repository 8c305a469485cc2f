import { Controller, Get, Header, Headers, Inject, Optional, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ModuleDatabases } from '../../database/database.module';
import { Public } from '../../http/auth/auth.decorators';
import { Problem } from '../../http/problem';
import { MessagingModules } from '../../messaging/operations/dead-letters';
import { BullMqPeers } from '../../messaging/transports/bullmq/bullmq-messaging';
import { Observability } from '../observability';
import { collectOnScrape } from './scrape-collectors';

function sameSecret(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Prometheus' scrape target. Public (a scraper has no user token); METRICS_TOKEN, when set, is required as a bearer token. */
@Public()
@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(
    @Inject(Observability) private readonly observability: Observability,
    private readonly databases: ModuleDatabases,
    private readonly messaging: MessagingModules,
    @Optional() private readonly peers?: BullMqPeers,
  ) {}

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metrics(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    const { metrics, metricsToken } = this.observability;
    if (!metrics) throw new Problem(404, 'not-found', 'Not found', 'Metrics are switched off (METRICS_ENABLED=false).');
    if (metricsToken) {
      const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
      if (!presented || !sameSecret(presented, metricsToken))
        throw new Problem(401, 'unauthorized', 'Unauthorized', 'Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.');
    }
    await collectOnScrape(metrics, {
      databases: this.databases,
      messaging: this.messaging,
      peers: this.peers,
      extra: this.observability.collectors,
    });
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  }
}
