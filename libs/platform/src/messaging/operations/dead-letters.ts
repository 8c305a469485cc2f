import { Injectable } from '@nestjs/common';
import type { ModuleDb } from '../../database/module-db';
import type { Envelope } from '../core/envelope';
import { outboxChannel } from '../core/presence';

/** Where the messaging tables are: a module list and a way to query each module's schema. */
export interface MessagingStore {
  modules(): Promise<string[]>;
  /** Runs SQL that names tables schema-qualified (`"billing".outbox`). */
  query<T = Record<string, unknown>>(module: string, sql: string, params?: unknown[]): Promise<T[]>;
}

/**
 * Module databases by name, each queried as that module's own role: the modules whose relays run in this process
 * (filled by MessagingModule.forModule), or those the operators' CLI opened.
 */
@Injectable()
export class MessagingModules implements MessagingStore {
  private readonly dbs = new Map<string, ModuleDb>();

  add(db: ModuleDb): void {
    this.dbs.set(db.module, db);
  }

  modules(): Promise<string[]> {
    return Promise.resolve([...this.dbs.keys()].sort());
  }

  /** Whether `module`'s relay runs in this process (its messages are produced here). */
  has(module: string): boolean {
    return this.dbs.has(module);
  }

  db(module: string): ModuleDb {
    const db = this.dbs.get(module);
    if (!db) throw new UnknownModuleError(module);
    return db;
  }

  async query<T>(module: string, sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.db(module).query(sql, params)) as T[];
  }
}

export class UnknownModuleError extends Error {
  override name = 'UnknownModuleError';
  constructor(readonly module: string) {
    super(`No module '${module}' has an outbox here. List the modules with 'messages outbox stats'.`);
  }
}

export interface DeadLetterSummary {
  module: string;
  /** The message id (stays the same when requeued). */
  id: string;
  type: string;
  key: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  deadAt: string;
}

export interface DeadLetter extends DeadLetterSummary {
  envelope: Envelope;
  /** The latest failures (up to 50), oldest first. */
  errors: { at: string; attempt: number; error: string }[];
}

export interface OutboxStats {
  module: string;
  /** Not yet delivered (includes delayed and retrying messages). */
  pending: number;
  /** Pending and held by a relay right now. */
  leased: number;
  /** Pending after at least one failed attempt. */
  retrying: number;
  /** Pending with a notBefore still in the future. */
  delayed: number;
  dead: number;
  /** Age of the oldest due pending message (ms); the relay's lag. Null when nothing is due. */
  oldestPendingMs: number | null;
}

type Row = {
  id: string;
  type: string;
  key: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  dead_at: Date;
  envelope?: Envelope;
  errors?: DeadLetter['errors'];
};

/**
 * Messages that failed for good, across every module's schema: list (newest first), inspect, requeue (same
 * message id: consumers that already applied it skip it through their inbox), purge. Dead letters are never
 * pruned automatically. Requeue a message within the inbox window (7 days by default), or consumers that
 * already applied it may apply it again.
 */
export class DeadLetters {
  constructor(private readonly store: MessagingStore) {}

  /** Newest first. Without `module`, across all modules. */
  async list(options: { module?: string; limit?: number; offset?: number } = {}): Promise<DeadLetterSummary[]> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    const offset = Math.max(options.offset ?? 0, 0);
    const modules = options.module ? [await this.known(options.module)] : await this.store.modules();
    // One module at a time: the admin store may be a single connection, which runs one query at a time anyway.
    const pages = await sequentially(
      modules.map((module) => async () => {
        const rows = await this.store.query<Row>(
          module,
          `SELECT message_id AS id, type, key, attempts, last_error, created_at, dead_at FROM ${table(module)}
            WHERE status = 'dead' ORDER BY dead_at DESC, seq DESC LIMIT $1`,
          [limit + offset],
        );
        return rows.map((r) => summary(module, r));
      }),
    );
    return pages
      .flat()
      .sort((a, b) => b.deadAt.localeCompare(a.deadAt))
      .slice(offset, offset + limit);
  }

  /** The dead letter with its envelope and error history, or null. */
  async get(module: string, id: string): Promise<DeadLetter | null> {
    await this.known(module);
    const [row] = await this.store.query<Row>(
      module,
      `SELECT message_id AS id, type, key, attempts, last_error, created_at, dead_at, envelope, errors FROM ${table(module)}
        WHERE status = 'dead' AND message_id = $1 ORDER BY seq DESC LIMIT 1`,
      [id],
    );
    return row ? { ...summary(module, row), envelope: row.envelope!, errors: row.errors ?? [] } : null;
  }

  /** Puts the message back in line with its attempts reset; returns whether there was one. */
  async requeue(module: string, id: string): Promise<boolean> {
    return (await this.requeueWhere(module, 'AND message_id = $1', [id])) > 0;
  }

  async requeueAll(module: string): Promise<number> {
    return this.requeueWhere(module, '', []);
  }

  /** Deletes the dead letter; returns whether there was one. */
  async purge(module: string, id: string): Promise<boolean> {
    await this.known(module);
    const rows = await this.store.query(module, `DELETE FROM ${table(module)} WHERE status = 'dead' AND message_id = $1 RETURNING 1`, [id]);
    return rows.length > 0;
  }

  async purgeAll(module: string): Promise<number> {
    await this.known(module);
    const [{ n }] = await this.store.query<{ n: number }>(
      module,
      `WITH gone AS (DELETE FROM ${table(module)} WHERE status = 'dead' RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    );
    return n;
  }

  /**
   * Records a message that a consumer of `module` could not apply as a dead letter of that module: a `dead` row in
   * its own outbox, with the envelope and the error. Transports that retry on the consuming side (BullMQ) call it
   * once their retries are spent, so the consumer's operators find it where they find every other dead letter:
   * `list`, `show`, `requeue` and `purge` (CLI and /admin) manage it. A requeue goes out through that module's relay
   * with the same message id, to the local consumers only (the message was produced elsewhere; see
   * BullMqRoutingTransport), and consumers that applied it meanwhile skip it.
   * Returns false when the module already holds this message as a dead letter (a repeated record adds nothing;
   * two records racing at the same instant may both insert, which a requeue then delivers twice, harmlessly).
   */
  async record(module: string, envelope: Envelope, failure: { attempts: number; error: string }): Promise<boolean> {
    await this.known(module);
    const error = failure.error.slice(0, 2_000);
    const history = JSON.stringify([{ at: new Date().toISOString(), attempt: failure.attempts, error }]);
    const rows = await this.store.query(
      module,
      `INSERT INTO ${table(module)} (message_id, type, key, envelope, status, attempts, last_error, errors, dead_at)
       SELECT $1, $2, $3, $4::jsonb, 'dead', $5, $6, $7::jsonb, now()
        WHERE NOT EXISTS (SELECT 1 FROM ${table(module)} WHERE message_id = $1 AND status = 'dead')
       RETURNING 1`,
      [envelope.id, envelope.type, envelope.key, JSON.stringify(envelope), failure.attempts, error, history],
    );
    return rows.length > 0;
  }

  /** Operators' view of every outbox: backlog, leases, retries, dead letters and lag. */
  async stats(): Promise<OutboxStats[]> {
    const modules = await this.store.modules();
    return sequentially(
      modules.map((module) => async () => {
        const [row] = await this.store.query<Omit<OutboxStats, 'module'>>(
          module,
          // pending counts every undelivered message; 'scheduled' ones (notBefore ahead) are the delayed part of it.
          `SELECT count(*) FILTER (WHERE status IN ('pending', 'scheduled'))::int AS pending,
                  count(*) FILTER (WHERE status = 'pending' AND lease_until >= now())::int AS leased,
                  count(*) FILTER (WHERE status = 'pending' AND attempts > 0)::int AS retrying,
                  count(*) FILTER (WHERE status IN ('pending', 'scheduled') AND not_before > now())::int AS delayed,
                  count(*) FILTER (WHERE status = 'dead')::int AS dead,
                  (extract(epoch FROM now() - min(coalesce(not_before, created_at))
                     FILTER (WHERE status IN ('pending', 'scheduled') AND coalesce(not_before, created_at) <= now())) * 1000)::float8 AS "oldestPendingMs"
             FROM ${table(module)}`,
        );
        return { module, ...row, oldestPendingMs: row.oldestPendingMs === null ? null : Math.round(row.oldestPendingMs) };
      }),
    );
  }

  private async requeueWhere(module: string, where: string, params: unknown[]): Promise<number> {
    await this.known(module);
    // In place: the row keeps its seq, so later messages of its key that are still pending wait for it again.
    const [{ n }] = await this.store.query<{ n: number }>(
      module,
      `WITH back AS (UPDATE ${table(module)} SET status = 'pending', attempts = 0, claims = 0, solo_runs = 0, available_at = now(), dead_at = NULL, lease_owner = NULL, lease_until = NULL
         WHERE status = 'dead' ${where} RETURNING 1)
       SELECT count(*)::int AS n, pg_notify('${outboxChannel(module)}', '') FROM back`,
      params,
    );
    return n;
  }

  private async known(module: string): Promise<string> {
    // Module names end up in SQL as schema names: only known ones (which passed assertModuleName) get there.
    if (!(await this.store.modules()).includes(module)) throw new UnknownModuleError(module);
    return module;
  }
}

function table(module: string): string {
  return `"${module}".outbox`;
}

function summary(module: string, r: Row): DeadLetterSummary {
  return {
    module,
    id: r.id,
    type: r.type,
    key: r.key,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: new Date(r.created_at).toISOString(),
    deadAt: new Date(r.dead_at).toISOString(),
  };
}

async function sequentially<T>(work: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (const step of work) results.push(await step());
  return results;
}
