import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ADMIN_TOKEN_SCHEME } from '../../http/auth/auth.decorators';
import { Problem } from '../../http/problem';
import { AdminTokenGuard } from '../../messaging/operations/admin.controller';
import { Observability } from '../observability';
import { type ModuleReport, type Sample, moduleReport } from './module-report';

const QuerySchema = z.object({
  operation: z
    .string()
    .regex(/^(GET|POST|PUT|PATCH|DELETE) \/[\w/:{}.-]{0,200}$/, 'must be a method and a route template, e.g. "POST /orders"')
    .optional(),
  hopMs: z.coerce.number().min(0).max(60_000).optional(),
  hopCpuMs: z.coerce.number().min(0).max(60_000).optional(),
});

/** The module report of this process since it started (npm run report:modules reads it, or /metrics, over a window). */
@Controller('admin/modules')
@UseGuards(AdminTokenGuard)
@ApiTags('admin')
@ApiSecurity(ADMIN_TOKEN_SCHEME)
@ApiResponse({ status: 401, description: 'No or a wrong ADMIN_TOKEN' })
@ApiResponse({ status: 403, description: 'No ADMIN_TOKEN is configured: the admin endpoints are disabled' })
export class ModuleReportController {
  constructor(@Inject(Observability) private readonly observability: Observability) {}

  @Get('report')
  @ApiOperation({ summary: 'Per module: handler and database time, rates, p99s, coupling per operation, what extraction would add' })
  @ApiQuery({ name: 'operation', required: false, schema: { type: 'string', default: 'POST /orders' } })
  @ApiQuery({ name: 'hopMs', required: false, schema: { type: 'number', minimum: 0 } })
  @ApiQuery({ name: 'hopCpuMs', required: false, schema: { type: 'number', minimum: 0 } })
  @ApiResponse({ status: 200, description: 'The report, over the life of this process' })
  @ApiResponse({ status: 400, description: 'A query parameter is invalid (the problem names it)' })
  async report(@Query() query: Record<string, unknown>): Promise<ModuleReport> {
    const parsed = QuerySchema.safeParse(query);
    if (!parsed.success) {
      throw Problem.badRequest('invalid-query', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const metrics = this.observability.metrics;
    if (!metrics)
      throw new Problem(404, 'not-found', 'Not found', 'Metrics are switched off (METRICS_ENABLED=false): there is nothing to report.');
    const json = await metrics.registry.getMetricsAsJSON();
    const samples: Sample[] = json.flatMap((m) =>
      m.values.map((v) => ({
        name: (v as { metricName?: string }).metricName ?? m.name,
        labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])),
        value: v.value,
      })),
    );
    return moduleReport(samples, {
      windowSeconds: process.uptime(),
      operation: parsed.data.operation,
      hopLatencyMs: parsed.data.hopMs,
      hopCpuMs: parsed.data.hopCpuMs,
    });
  }
}
