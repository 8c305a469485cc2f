import { createHash, timingSafeEqual } from 'node:crypto';
import {
  applyDecorators,
  type CanActivate,
  Controller,
  Delete,
  type ExecutionContext,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ADMIN_TOKEN_SCHEME } from '../../http/auth/auth.decorators';
import { Problem } from '../../http/problem';
import { ValidParam } from '../../http/validation';
import { DeadLetters, type DeadLetter, type DeadLetterSummary, type OutboxStats, UnknownModuleError } from './dead-letters';

/** Injection token of the admin bearer token (MessagingModule.forRoot({ adminToken })). */
export const MESSAGING_ADMIN_TOKEN = Symbol('MESSAGING_ADMIN_TOKEN');

/** Lets a request through only with `Authorization: Bearer <ADMIN_TOKEN>`; refuses everything when no token is configured. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(@Inject(MESSAGING_ADMIN_TOKEN) private readonly token: string | undefined) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.token) {
      throw new Problem(
        403,
        'admin-disabled',
        'Forbidden',
        'The admin endpoints are disabled because no ADMIN_TOKEN is configured. Set ADMIN_TOKEN (at least 16 characters) and restart.',
      );
    }
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization ?? '';
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
    // Hash both sides so the comparison takes the same time whatever the lengths.
    const digest = (s: string) => createHash('sha256').update(s).digest();
    if (!presented || !timingSafeEqual(digest(presented), digest(this.token))) {
      throw new Problem(401, 'unauthorized', 'Unauthorized', 'Send the admin token as `Authorization: Bearer <ADMIN_TOKEN>`.');
    }
    return true;
  }
}

const ModuleParam = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'must be a module name (lower-case letters, digits, underscores)');
const IdParam = z.uuid('must be a message id (UUID)');
const Paging = z.object({
  module: ModuleParam.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  // Bounded: OFFSET still reads every skipped row.
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

/** Dead letters and outbox stats for operators. Same operations as the `messages` CLI. */
@Controller('admin')
@UseGuards(AdminTokenGuard)
@ApiTags('admin')
@ApiSecurity(ADMIN_TOKEN_SCHEME)
@ApiResponse({ status: 401, description: 'No or a wrong ADMIN_TOKEN' })
@ApiResponse({ status: 403, description: 'No ADMIN_TOKEN is configured: the admin endpoints are disabled' })
export class MessagingAdminController {
  constructor(private readonly deadLetters: DeadLetters) {}

  @Get('dead-letters')
  @ApiOperation({ summary: 'List dead letters' })
  @ApiQuery({ name: 'module', required: false, schema: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,40}$' } })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } })
  @ApiQuery({ name: 'offset', required: false, schema: { type: 'integer', minimum: 0, maximum: 100_000, default: 0 } })
  @ApiResponse({ status: 200, description: 'A page of dead letters, newest first' })
  @ApiResponse({ status: 400, description: 'A bad query parameter' })
  async list(@Query() query: unknown): Promise<{ items: DeadLetterSummary[]; limit: number; offset: number }> {
    const parsed = Paging.safeParse(query);
    if (!parsed.success) {
      const list = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw Problem.badRequest('validation-failed', `The query is invalid. ${list}.`);
    }
    const { module, limit, offset } = parsed.data;
    return { items: await this.known(() => this.deadLetters.list({ module, limit, offset })), limit, offset };
  }

  @Get('dead-letters/:module/:id')
  @ApiOperation({ summary: 'Show a dead letter' })
  @ApiDeadLetterParams()
  async show(@ValidParam('module', ModuleParam) module: string, @ValidParam('id', IdParam) id: string): Promise<DeadLetter> {
    const found = await this.known(() => this.deadLetters.get(module, id));
    if (!found) throw notFound(module, id);
    return found;
  }

  @Post('dead-letters/:module/:id/requeue')
  @ApiOperation({ summary: 'Requeue a dead letter' })
  @ApiDeadLetterParams()
  @HttpCode(200)
  async requeue(@ValidParam('module', ModuleParam) module: string, @ValidParam('id', IdParam) id: string): Promise<{ requeued: number }> {
    if (!(await this.known(() => this.deadLetters.requeue(module, id)))) throw notFound(module, id);
    return { requeued: 1 };
  }

  @Delete('dead-letters/:module/:id')
  @ApiOperation({ summary: 'Purge a dead letter' })
  @ApiDeadLetterParams()
  @HttpCode(200)
  async purge(@ValidParam('module', ModuleParam) module: string, @ValidParam('id', IdParam) id: string): Promise<{ purged: number }> {
    if (!(await this.known(() => this.deadLetters.purge(module, id)))) throw notFound(module, id);
    return { purged: 1 };
  }

  @Delete('dead-letters/:module')
  @ApiOperation({ summary: "Purge a module's dead letters" })
  @ApiParam({ name: 'module', schema: { type: 'string' } })
  @ApiResponse({ status: 200, description: 'How many were purged' })
  @ApiResponse({ status: 404, description: 'No such module' })
  @HttpCode(200)
  async purgeAll(@ValidParam('module', ModuleParam) module: string): Promise<{ purged: number }> {
    return { purged: await this.known(() => this.deadLetters.purgeAll(module)) };
  }

  @Get('outbox/stats')
  @ApiOperation({ summary: 'Outbox statistics per module' })
  @ApiResponse({ status: 200, description: 'Pending, in flight, dead and delivered messages per module' })
  async stats(): Promise<OutboxStats[]> {
    return this.deadLetters.stats();
  }

  private async known<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof UnknownModuleError)
        throw Problem.notFound(
          'unknown-module',
          error.message.replace(/ List the modules.*/, ' See GET /admin/outbox/stats for the modules.'),
        );
      throw error;
    }
  }
}

/** OpenAPI of the `:module/:id` routes. */
function ApiDeadLetterParams(): MethodDecorator {
  return applyDecorators(
    ApiParam({ name: 'module', schema: { type: 'string' } }),
    ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } }),
    ApiResponse({ status: 200, description: 'The dead letter, or how many were changed' }),
    ApiResponse({ status: 400, description: 'A bad module name or id' }),
    ApiResponse({ status: 404, description: 'No such dead letter or module' }),
  );
}

function notFound(module: string, id: string): Problem {
  return Problem.notFound(
    'dead-letter-not-found',
    `There is no dead letter ${id} in module '${module}'. It may have been requeued or purged; list them with GET /admin/dead-letters?module=${module}.`,
  );
}
