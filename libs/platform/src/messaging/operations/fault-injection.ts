import { Controller, Get, Inject, Logger, type LoggerService, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { z } from 'zod';
import type { MessageContract } from '../core/contract';
import type { HandlerRegistry } from '../core/handlers';
import { AdminTokenGuard } from './admin.controller';

/**
 * Fault injection for failure drills (docs/drills.md, "The crash hook the drill looks for"). With
 * FAULT_INJECTION=crash a platform consumer kills its own process on one message type, before its transaction
 * commits: the only way to drill a handler that kills the process, which cannot be written from outside. Never on by
 * default; GET /admin/fault-injection exists only when it is on (404 otherwise).
 */
export type FaultInjectionMode = 'off' | 'crash';

/** A message that kills the process handling it. Platform plumbing, so no module's contract. */
export const CrashProcess = {
  type: 'platform.fault-injection.crash.v1',
  schema: z.object({ reason: z.string().max(500).optional() }),
} as const satisfies MessageContract;

/** Message types of the platform itself: a module's `consumes` declaration does not list them. */
export const PLATFORM_MESSAGE_TYPES: ReadonlySet<string> = new Set([CrashProcess.type]);

/** Where the crash consumer runs: set once the handlers are discovered (the first module that consumes messages here). */
export class FaultInjection {
  crashModule?: string;

  constructor(private readonly logger: LoggerService = new Logger('FaultInjection')) {}

  /**
   * Subscribes the crash consumer in `module` (one of this process's consumer modules, so it has an inbox and a
   * database). The handler waits for its inbox row (so a duplicate does not kill), then SIGKILLs the process inside
   * the open transaction: nothing commits, exactly as when a handler dies of out-of-memory.
   */
  register(registry: HandlerRegistry, module: string): void {
    this.crashModule = module;
    const logger = this.logger;
    registry.add({
      consumer: `${module}:FaultInjection.crash`,
      module,
      contract: CrashProcess,
      handle: async (_payload, ctx) => {
        await ctx.fresh;
        logger.error(
          `FAULT_INJECTION=crash: ${CrashProcess.type} ${ctx.envelope.id} received; killing this process (SIGKILL) before its transaction commits.`,
        );
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => undefined); // SIGKILL is not handled: nothing runs after it
      },
    });
    // The host warns at start that fault injection is on; this says where.
    logger.log(`FAULT_INJECTION=crash: a ${CrashProcess.type} message in the '${module}' outbox kills this process.`);
  }
}

/** `GET /admin/fault-injection`: what kills this process, for the drill (registered only with FAULT_INJECTION=crash). */
@Controller('admin')
@UseGuards(AdminTokenGuard)
@ApiExcludeController() // a drill's hook, not part of the public API
export class FaultInjectionController {
  constructor(@Inject(FaultInjection) private readonly faults: FaultInjection) {}

  @Get('fault-injection')
  describe(): { crash: { type: string; module: string | null } } {
    return { crash: { type: CrashProcess.type, module: this.faults.crashModule ?? null } };
  }
}
