import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ModuleDataSources } from '../database/database.module';
import { isModuleReady } from '../database/module-data-source';
import { Public } from '../http/auth/auth.decorators';

@Public()
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly dataSources: ModuleDataSources) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  @ApiResponse({ status: 200, description: 'Up' })
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Every module's database answers and has no pending migration. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: every module reaches its database, migrated' })
  @ApiResponse({ status: 200, description: 'Ready' })
  @ApiResponse({ status: 503, description: 'Not ready: the problem names the modules' })
  async ready(): Promise<{ status: 'ready'; modules: Record<string, 'ready'> }> {
    const modules: Record<string, string> = {};
    let ready = true;
    for (const [name, ds] of this.dataSources.entries()) {
      const ok = await isModuleReady(ds).catch(() => false);
      modules[name] = ok ? 'ready' : 'not ready';
      ready &&= ok;
    }
    if (!ready) {
      throw new ServiceUnavailableException(
        `Not ready: ${Object.entries(modules)
          .filter(([, s]) => s !== 'ready')
          .map(([m]) => m)
          .join(', ')} cannot reach its database or has pending migrations.`,
      );
    }
    return { status: 'ready', modules: modules as Record<string, 'ready'> };
  }
}
