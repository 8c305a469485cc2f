import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ModuleDatabases } from '../database/database.module';
import { Public } from '../http/auth/auth.decorators';

@Public()
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly databases: ModuleDatabases) {}

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
    const readiness = await this.databases.readiness();
    const failing = Object.entries(readiness).filter(([, ok]) => !ok);
    if (failing.length > 0) {
      throw new ServiceUnavailableException(
        `Not ready: ${failing.map(([m]) => m).join(', ')} cannot reach its database or has pending migrations.`,
      );
    }
    return { status: 'ready', modules: Object.fromEntries(Object.keys(readiness).map((m) => [m, 'ready' as const])) };
  }
}
