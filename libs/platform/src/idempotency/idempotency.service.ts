import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { ModuleDatabases } from '../database/database.module';
import type { ModuleDb, Tx } from '../database/module-db';
import type { Principal } from '../http/auth/principal';
import {
  DEFAULT_IDEMPOTENCY,
  type IdempotencyOptions,
  type IdempotentRequest,
  type StoredResponse,
  pruneIdempotencyKeys,
  runIdempotent,
} from './idempotency';

/** Injection token of the host's idempotency settings (IDEMPOTENCY_RETENTION_MS). */
export const IDEMPOTENCY_OPTIONS = Symbol('IDEMPOTENCY_OPTIONS');

export interface IdempotencySettings extends IdempotencyOptions {
  /** How often expired keys are deleted (ms); 0: never (tests). */
  pruneIntervalMs?: number;
}

/** Who a key belongs to: the authenticated caller, or the shared anonymous namespace (AUTH_MODE=off). */
export function keyOwner(principal: Principal | undefined): string | undefined {
  return principal && principal.via !== 'anonymous' ? principal.id : undefined;
}

/**
 * The host's Idempotency-Key service: runs requests once per (operation, caller, key) with the host's retention, and
 * deletes expired keys of every module that keeps them, in the background. Inject it where a module takes
 * Idempotency-Keys; runIdempotent is the same without the host's settings.
 */
@Injectable()
export class Idempotency implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Idempotency.name);
  private readonly options: Required<IdempotencyOptions>;
  private readonly pruneIntervalMs: number;
  private timer?: NodeJS.Timeout;
  private pruning?: Promise<void>;

  constructor(
    private readonly databases: ModuleDatabases,
    @Optional() @Inject(IDEMPOTENCY_OPTIONS) settings: IdempotencySettings = {},
  ) {
    this.options = { ...DEFAULT_IDEMPOTENCY, ...settings };
    this.pruneIntervalMs = settings.pruneIntervalMs ?? 10 * 60_000;
  }

  /** How long a response is kept for repeats (ms): documented to clients. */
  get retentionMs(): number {
    return this.options.retentionMs;
  }

  run<B>(db: ModuleDb, req: IdempotentRequest, work: (tx: Tx) => Promise<StoredResponse<B>>): Promise<StoredResponse<B>> {
    return runIdempotent(db, req, work, this.options);
  }

  onApplicationBootstrap(): void {
    if (this.pruneIntervalMs <= 0) return;
    const round = () => (this.pruning ??= this.prune().then(() => (this.pruning = undefined)));
    this.timer = setInterval(() => void round(), this.pruneIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.pruning;
  }

  /** One round over the modules that keep keys; returns the keys deleted per module. Several instances may run it at once. */
  async prune(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    for (const module of this.databases.modules()) {
      const db = this.databases.get(module)!;
      try {
        const [{ keeps }] = await db.query<{ keeps: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS keeps`, [
          `"${module}".idempotency_keys`,
        ]);
        if (keeps) deleted[module] = await pruneIdempotencyKeys(db);
      } catch (error) {
        // The next round tries again; a database that is away is reported by /health/ready, not here every 10 min.
        this.logger.warn(`Deleting expired Idempotency-Keys of ${module} failed: ${(error as Error).message}`);
      }
    }
    return deleted;
  }
}
