import { Controller, Get, HttpCode, Optional, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Queue } from 'bullmq';
import { ModuleDatabases } from '../database/database.module';
import { Public } from '../http/auth/auth.decorators';
import { BullMqPeers } from '../messaging/transports/bullmq/bullmq-messaging';
import { ShutdownState } from './shutdown-state';

const REDIS_PING_TIMEOUT_MS = 1_000;

@Public()
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly databases: ModuleDatabases,
    private readonly shutdown: ShutdownState,
    @Optional() private readonly peers?: BullMqPeers,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  @ApiResponse({ status: 200, description: 'Up' })
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Not draining, every module's database answers and has no pending migration, and Redis answers when a module runs remote. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: not draining, every module reaches its database, migrated, and Redis when a module runs remote' })
  @ApiResponse({ status: 200, description: 'Ready' })
  @ApiResponse({ status: 503, description: 'Not ready: draining, or the problem names the modules (or Redis)' })
  async ready(): Promise<{ status: 'ready'; modules: Record<string, 'ready'>; redis?: 'ready' }> {
    if (this.shutdown.draining) {
      throw new ServiceUnavailableException(
        `Draining since ${this.shutdown.drainingSince!.toISOString()} (SIGTERM received): this process finishes its work and stops; send traffic elsewhere.`,
      );
    }
    const [readiness, redis] = await Promise.all([this.databases.readiness(), this.redisReady()]);
    const failing = Object.entries(readiness).filter(([, ok]) => !ok);
    if (failing.length > 0) {
      throw new ServiceUnavailableException(
        `Not ready: ${failing.map(([m]) => m).join(', ')} cannot reach its database or has pending migrations.`,
      );
    }
    if (redis === false) {
      throw new ServiceUnavailableException(
        'Not ready: Redis (REDIS_URL) does not answer, and the messages to and from the remote modules go through it. Check that Redis runs and is reachable.',
      );
    }
    return {
      status: 'ready',
      modules: Object.fromEntries(Object.keys(readiness).map((m) => [m, 'ready' as const])),
      ...(redis ? { redis: 'ready' as const } : {}),
    };
  }

  /** One round trip to Redis (a peer queue's job count). undefined: no module runs remote, no Redis needed. */
  private async redisReady(): Promise<boolean | undefined> {
    const clients = this.peers?.clients ?? [];
    if (clients.length === 0) return undefined;
    try {
      const queue = clients[0].unwrap<Queue>();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), REDIS_PING_TIMEOUT_MS);
      });
      await Promise.race([queue.getJobCounts('waiting'), timeout]).finally(() => clearTimeout(timer));
      return true;
    } catch {
      return false;
    }
  }
}
