import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { type BatchFailure, type BatchedStatement, StatementBatch } from './statement-batch';

/**
 * A module's runtime access to its own schema: plain SQL over node-postgres, close to the database.
 *
 * Why not the ORM on this path: one order crosses seven transactions, and what they cost is round trips and
 * statement parsing, not SQL. So every statement here is a named prepared statement (parsed and planned once per
 * connection), and a transaction sends what it has queued in one batch (StatementBatch): nothing waits for an answer
 * it does not need. `BEGIN`, the writes and `COMMIT` of a transaction that reads nothing travel in one round trip; a
 * transaction that reads first (lock a row, decide, write) takes two.
 */

/** A statement with a stable name derived from its text (so two texts never share a name). */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export function statement(text: string): Statement {
  return { name: `mf_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
}

/**
 * A statement planned for its parameters on every run (an unnamed prepared statement): for the queue tables (outbox),
 * whose size swings between empty and thousands of rows. A named statement's cached generic plan, made while the table
 * was nearly empty, keeps scanning it sequentially once it has grown: measured at 3 ms per delivered-batch DELETE
 * (40 % of all statement time of an order) against 0.1 ms by index. Planning these small statements costs ~0.05 ms.
 */
export function customPlanned(text: string): Statement {
  return { name: '', text };
}

type Sql = Statement | string;

function config(sql: Sql, values: readonly unknown[]) {
  return typeof sql === 'string'
    ? { text: sql, values: values as unknown[] }
    : { name: sql.name, text: sql.text, values: values as unknown[] };
}

const BEGIN = statement('BEGIN ISOLATION LEVEL READ COMMITTED');
const BEGIN_REPEATABLE_READ = statement('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
const COMMIT = statement('COMMIT');
const LOCK_TIMEOUT = statement(`SELECT set_config('lock_timeout', $1, true)`);
const ASYNC_COMMIT = statement(`SELECT set_config('synchronous_commit', 'off', true)`);

export interface TransactionOptions {
  /** Fail a lock wait after this long (SQLSTATE 55P03) instead of the connection's default. */
  lockTimeoutMs?: number;
  /** A read-only snapshot: every statement sees the same committed state. */
  readOnlySnapshot?: boolean;
}

/**
 * A statement a platform service wants committed sooner or later (the relay's deletion of delivered messages): it
 * rides along with the module's next read-write transaction, just before its COMMIT, instead of costing a round trip
 * and a commit of its own. `settle` learns whether it committed; if not, its owner keeps it for later.
 */
export interface RidingStatement {
  sql: Statement;
  values: readonly unknown[];
  settle(committed: boolean): void;
}

/** One module's pool of connections, as that module's runtime role. */
export class ModuleDb {
  private readonly riders = new Set<() => RidingStatement | undefined>();

  constructor(
    readonly module: string,
    readonly pool: Pool,
  ) {}

  /**
   * Told how long each unit of work held a connection (seconds; from checkout to release), when set: the platform's
   * metrics (db_transaction_duration_seconds). Unset, nothing is measured.
   */
  observeWork?: (kind: 'query' | 'bookkeeping' | 'transaction', seconds: number) => void;

  /** Registers a source of riding statements (see RidingStatement); returns a function that removes it. */
  rideAlong(take: () => RidingStatement | undefined): () => void {
    this.riders.add(take);
    return () => void this.riders.delete(take);
  }

  /** The pool's connection string (the module's login role). */
  get connectionString(): string | undefined {
    return (this.pool as unknown as { options: { connectionString?: string } }).options.connectionString;
  }

  /** One statement on its own (autocommit). */
  async query<R extends QueryResultRow = QueryResultRow>(sql: Sql, values: readonly unknown[] = []): Promise<R[]> {
    const observe = this.observeWork;
    if (!observe) return (await this.pool.query<R>(config(sql, values))).rows;
    const started = performance.now();
    try {
      return (await this.pool.query<R>(config(sql, values))).rows;
    } finally {
      observe('query', (performance.now() - started) / 1000);
    }
  }

  /**
   * One statement whose loss in a server crash is harmless because it is done again (the relay's bookkeeping: a
   * message whose deletion is lost is delivered again, and its consumers skip it). It commits without waiting for
   * the WAL to reach the disk (synchronous_commit off, this transaction only): no fsync per statement.
   */
  async bookkeeping<R extends QueryResultRow = QueryResultRow>(sql: Sql, values: readonly unknown[] = []): Promise<R[]> {
    const client = await this.pool.connect();
    const started = this.observeWork ? performance.now() : 0;
    let broken: Error | undefined;
    const lost = (error: Error) => void (broken ??= error);
    client.on('error', lost);
    try {
      const { name, text } = typeof sql === 'string' ? statement(sql) : sql;
      const batch = new StatementBatch([
        { ...BEGIN, values: [], rows: false },
        { ...ASYNC_COMMIT, values: [], rows: false },
        { name, text, values },
        { ...COMMIT, values: [], rows: false },
      ]);
      void client.query(batch as unknown as Parameters<PoolClient['query']>[0]); // a Submittable: it answers through batch.done
      try {
        return (await batch.done)[2] as R[];
      } catch (failure) {
        await client.query('ROLLBACK').catch((error: Error) => (broken ??= error));
        throw (failure as BatchFailure).error;
      }
    } finally {
      client.off('error', lost);
      client.release(broken);
      this.observeWork?.('bookkeeping', (performance.now() - started) / 1000);
    }
  }

  /**
   * Runs `work` in one transaction (READ COMMITTED) on one connection and commits, or rolls back if `work` or any
   * statement failed. Effects registered with `tx.afterCommit` run once the commit is acknowledged.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    const started = this.observeWork ? performance.now() : 0;
    const tx = new Tx(this.module, client, options.readOnlySnapshot ? [] : [...this.riders]);
    let broken: Error | undefined;
    // A connection that dies while checked out (server restart, idle-in-transaction timeout) reports here, not to the
    // pool: its statements fail, and the client is thrown away on release.
    const lost = (error: Error) => void (broken ??= error);
    client.on('error', lost);
    try {
      tx.execute(options.readOnlySnapshot ? BEGIN_REPEATABLE_READ : BEGIN);
      if (options.lockTimeoutMs !== undefined) tx.execute(LOCK_TIMEOUT, [`${options.lockTimeoutMs}ms`]);
      const result = await work(tx);
      await tx.commit();
      tx.committed();
      return result;
    } catch (error) {
      broken ??= await tx.rollback();
      throw error;
    } finally {
      client.off('error', lost);
      client.release(broken);
      this.observeWork?.('transaction', (performance.now() - started) / 1000);
    }
  }
}

/**
 * An open transaction. `query` and `execute` queue their statement; everything queued until the event loop turns
 * (across awaits of promises that are already settled) leaves as one batch, one round trip (see StatementBatch).
 * Only `query` hands back rows. A statement that fails aborts the transaction: later ones fail too, and the commit
 * throws the first failure.
 */
export class Tx {
  private readonly inFlight: Promise<unknown>[] = [];
  private failure?: { error: unknown };
  private gate?: Promise<unknown>;
  private readonly beforeCommitHooks: (() => void | Promise<void>)[] = [];
  private readonly afterCommitHooks: (() => void)[] = [];
  private queued?: { statements: BatchedStatement[]; settle: ((rows: QueryResultRow[] | undefined, error?: unknown) => void)[] };
  private readonly riding: RidingStatement[] = [];
  /** Per-transaction state of platform services (the outbox's pending messages), keyed by their owner. */
  readonly attachments = new Map<object, unknown>();

  constructor(
    readonly module: string,
    private readonly client: PoolClient,
    private readonly riders: readonly (() => RidingStatement | undefined)[] = [],
  ) {}

  /** Queues a statement and resolves with its rows. */
  query<R extends QueryResultRow = QueryResultRow>(sql: Sql, values: readonly unknown[] = []): Promise<R[]> {
    const result = this.send<R>(sql, values);
    if (!this.gate) return result;
    const gated = this.gate.then(() => result);
    gated.catch(() => undefined); // a caller that stops at an earlier failure need not await this one
    return gated;
  }

  /** Queues a statement whose result nobody reads (a write); a failure surfaces at commit. */
  execute(sql: Sql, values: readonly unknown[] = []): void {
    this.send(sql, values, false).catch(() => undefined);
  }

  /**
   * Reads resolve only after `condition` did, and reject with its error if it rejects. The dispatcher gates a
   * handler's reads on its inbox row, sent in the same round trip: a duplicate stops the handler at its first read
   * instead of costing a round trip of its own.
   */
  gateReadsOn(condition: Promise<unknown>): void {
    condition.catch(() => undefined);
    this.gate = condition;
  }

  /** Runs just before COMMIT is queued (the outbox writes its messages then, in one statement). */
  beforeCommit(hook: () => void | Promise<void>): void {
    this.beforeCommitHooks.push(hook);
  }

  /** Runs once the commit is acknowledged; never if the transaction rolls back. Must not throw. */
  afterCommit(hook: () => void): void {
    this.afterCommitHooks.push(hook);
  }

  /** @internal */
  async commit(): Promise<void> {
    for (const hook of this.beforeCommitHooks) await hook();
    for (const take of this.riders) {
      const rider = take();
      if (!rider) continue;
      this.riding.push(rider);
      this.send(rider.sql, rider.values, false).catch(() => undefined);
    }
    const commit = this.send(COMMIT, [], false);
    await Promise.allSettled(this.inFlight);
    if (this.failure) throw this.failure.error;
    await commit;
  }

  /** @internal */
  committed(): void {
    for (const rider of this.riding.splice(0)) rider.settle(true);
    for (const hook of this.afterCommitHooks) hook();
  }

  /** @internal Waits for what was sent, then rolls back; returns the error that makes the connection unusable, if any. */
  async rollback(): Promise<Error | undefined> {
    for (const rider of this.riding.splice(0)) rider.settle(false);
    this.flush();
    await Promise.allSettled(this.inFlight);
    try {
      await this.client.query('ROLLBACK');
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private send<R extends QueryResultRow>(sql: Sql, values: readonly unknown[], rows = true): Promise<R[]> {
    if (!this.queued) {
      this.queued = { statements: [], settle: [] };
      setImmediate(() => this.flush());
    }
    const queued = this.queued;
    const sent = new Promise<R[]>((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- PostgreSQL's errors, passed on as they are
      queued.settle.push((rows, error) => (error === undefined ? resolve(rows as R[]) : reject(error)));
    }).catch((error: unknown) => {
      // After the first failure PostgreSQL refuses the rest: report the cause, not "the transaction is aborted".
      if (!this.failure) this.failure = { error };
      throw this.failure.error;
    });
    const { name, text } = typeof sql === 'string' ? statement(sql) : sql;
    queued.statements.push({ name, text, values, rows });
    sent.catch(() => undefined); // observed at commit (or by the caller); never an unhandled rejection
    this.inFlight.push(sent);
    return sent;
  }

  private flush(): void {
    const queued = this.queued;
    this.queued = undefined;
    if (!queued) return;
    const batch = new StatementBatch(queued.statements);
    void this.client.query(batch as unknown as Parameters<PoolClient['query']>[0]); // answers through batch.done
    batch.done.then(
      (results) => results.forEach((rows, i) => queued.settle[i](rows)),
      (failure: BatchFailure) =>
        queued.settle.forEach((settle, i) =>
          i < failure.index
            ? settle([])
            : settle(undefined, i === failure.index ? failure.error : new Error('skipped: an earlier statement of the batch failed')),
        ),
    );
  }
}
