import { randomUUID } from 'node:crypto';
import { Logger, type LoggerService } from '@nestjs/common';
import { Client, type ClientConfig, Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { Envelope } from './envelope';
import { MessageDeliveryError, isNonRetryable, isTransportUnavailable } from './errors';
import { assertModuleName, outboxChannel } from './outbox';
import type { MessageTransport } from './transport';

export interface RetryOptions {
  /** First retry waits up to this long (ms); each further attempt doubles it... */
  baseMs: number;
  /** ...up to this cap (ms). */
  capMs: number;
  /** Delivery attempts before a message is dead-lettered (1 = no retry). */
  maxAttempts: number;
}

export interface RelayOptions {
  /** Backstop poll (ms) for when a NOTIFY is missed; also how late a delayed (notBefore) message may start when idle. */
  pollIntervalMs: number;
  /** Rows claimed per statement. */
  batchSize: number;
  /** Deliveries in parallel. A claimed batch is split into this many lanes of whole key runs. */
  concurrency: number;
  /** Messages handed to the transport in one `send` (in-process: one consumer transaction). */
  deliveryBatchSize: number;
  /** How long a claim is exclusive (ms). A relay that dies keeps its messages this long; then another takes them. */
  leaseMs: number;
  retry: RetryOptions;
  /** Dispatched outbox rows are deleted after this long (ms). Dead letters stay until purged. */
  outboxRetentionMs: number;
  /** Inbox rows (duplicate detection) are deleted after this long (ms). Must exceed the longest retry span. */
  inboxRetentionMs: number;
  pruneIntervalMs: number;
  pruneBatchSize: number;
}

export type RelayOptionsInput = Partial<Omit<RelayOptions, 'retry'>> & { retry?: Partial<RetryOptions> };

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  pollIntervalMs: 1_000,
  batchSize: 200,
  concurrency: 10,
  deliveryBatchSize: 50,
  leaseMs: 30_000,
  retry: { baseMs: 200, capMs: 60_000, maxAttempts: 10 },
  outboxRetentionMs: 60 * 60_000,
  inboxRetentionMs: 7 * 24 * 60 * 60_000,
  pruneIntervalMs: 60_000,
  pruneBatchSize: 1_000,
};

/** Fills in defaults and refuses settings that would break a guarantee. */
export function resolveRelayOptions(input: RelayOptionsInput = {}): RelayOptions {
  const options: RelayOptions = { ...DEFAULT_RELAY_OPTIONS, ...input, retry: { ...DEFAULT_RELAY_OPTIONS.retry, ...input.retry } };
  const positive = { ...options, ...options.retry } as unknown as Record<string, unknown>;
  for (const name of [
    'pollIntervalMs',
    'batchSize',
    'concurrency',
    'deliveryBatchSize',
    'leaseMs',
    'outboxRetentionMs',
    'inboxRetentionMs',
    'pruneIntervalMs',
    'pruneBatchSize',
    'baseMs',
    'capMs',
    'maxAttempts',
  ]) {
    const value = positive[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new Error(`Messaging option ${name} must be a positive number, got ${String(value)}.`);
  }
  const span = longestRetrySpanMs(options);
  if (options.inboxRetentionMs <= span) {
    throw new Error(
      `Messaging option inboxRetentionMs (${options.inboxRetentionMs} ms) must be longer than the longest retry span (${span} ms for ` +
        `${options.retry.maxAttempts} attempts with leases of ${options.leaseMs} ms), or a retried message could be applied twice.`,
    );
  }
  return options;
}

/** Worst case from first to last attempt: every backoff at its maximum, every attempt using its whole lease. */
export function longestRetrySpanMs(options: Pick<RelayOptions, 'retry' | 'leaseMs'>): number {
  let span = 0;
  for (let attempt = 1; attempt < options.retry.maxAttempts; attempt++)
    span += Math.min(options.retry.capMs, options.retry.baseMs * 2 ** (attempt - 1));
  return span + options.retry.maxAttempts * options.leaseMs;
}

/**
 * "Full jitter" backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly random wait
 * between 0 and the capped exponential. Randomising the whole interval keeps many failing messages from
 * retrying in lockstep. It is one line, so a library would add a dependency and nothing else.
 */
export function retryDelayMs(attempt: number, retry: Pick<RetryOptions, 'baseMs' | 'capMs'>): number {
  return Math.round(Math.random() * Math.min(retry.capMs, retry.baseMs * 2 ** (attempt - 1)));
}

/** A message this relay holds the lease of. */
export interface ClaimedMessage {
  seq: string;
  messageId: string;
  type: string;
  key: string;
  /** Failed attempts so far. */
  attempts: number;
  envelope: Envelope;
  claimedAt: number;
}

export interface OutboxRelayDeps {
  module: string;
  /** The module's own DataSource; the relay connects with its URL (as the module's role). */
  dataSource: DataSource;
  transport: MessageTransport;
  options?: RelayOptionsInput;
  /** Connection settings for LISTEN and the relay's own statements; default: the DataSource's URL. */
  connection?: ClientConfig;
  /** Lease owner token; default a random UUID. Unique per relay instance. */
  owner?: string;
  logger?: LoggerService;
}

/**
 * Moves one module's committed outbox rows to the transport.
 *
 * Claim: `FOR UPDATE SKIP LOCKED` + a lease (owner token, lease_until), so several instances share the work.
 * Every later write (dispatched, retry, dead, release) is fenced by `lease_owner = <this relay>`: a relay that
 * outlived its lease cannot overwrite the new owner's work.
 *
 * Order per key: a message is claimed only when every earlier message of its key (by seq, i.e. commit order)
 * whose notBefore has passed is dispatched or dead, or claimed in the same statement. A claimed batch is split
 * into lanes of whole key runs, delivered in parallel; a lane goes to the transport in sends of up to
 * deliveryBatchSize messages (in-process: one consumer transaction each). When a send fails, only the failing
 * message (named by the transport, else found by sending one at a time) is retried or dead-lettered, and the
 * rest of its key is held back; the other messages go on. A dead message no longer blocks its key: later
 * messages go on (the dead one can be requeued by hand).
 *
 * Delivered messages are marked dispatched by the loop's next statement, which also claims: one round trip.
 * The relay's own bookkeeping (claims, marks, retries, releases) runs with synchronous_commit off: a crash may
 * forget the last few, which only means a message is delivered again, and consumers skip it.
 */
export class OutboxRelay {
  readonly module: string;
  readonly owner: string;
  readonly options: RelayOptions;
  private readonly logger: LoggerService;
  private readonly transport: MessageTransport;
  private readonly connection: ClientConfig;
  private readonly pool: Pool;
  private readonly sql: ReturnType<typeof statements>;
  private readonly statementNames = new Map<string, string>();

  private listener?: Client;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private loopDone?: Promise<void>;
  private stopped?: Promise<void>;
  private woken = false;
  private wakeUp?: () => void;
  private retryTimer?: { at: number; timer: NodeJS.Timeout };
  private pruneTimer?: NodeJS.Timeout;
  private pruning?: Promise<unknown>;
  private reconnectTimer?: NodeJS.Timeout;
  /** Claimed and not finished (queued or being delivered). */
  private inFlight = 0;
  private waitingForRoom = false;
  private readonly queue: ClaimedMessage[][][] = [];
  private readonly running = new Set<Promise<void>>();
  /** Delivered, to be marked dispatched by the next claim statement (or by drain/runOnce). */
  private toMark: string[] = [];
  private lastUnavailableLog = 0;

  constructor(deps: OutboxRelayDeps) {
    assertModuleName(deps.module);
    this.module = deps.module;
    this.transport = deps.transport;
    this.options = resolveRelayOptions(deps.options);
    this.owner = deps.owner ?? randomUUID();
    this.logger = deps.logger ?? new Logger(`OutboxRelay:${deps.module}`);
    const url = (deps.dataSource.options as { url?: string }).url;
    if (!deps.connection && !url)
      throw new Error(`OutboxRelay(${deps.module}) needs connection settings: the DataSource has no url, pass deps.connection.`);
    this.connection = deps.connection ?? { connectionString: url, application_name: `monolith-first:${deps.module}:relay` };
    // The relay's own connections run only the statements below. synchronous_commit off: see the class comment.
    // enable_sort/enable_bitmapscan off: the claim must walk outbox_pending in seq order and stop after $2 rows;
    // once a backlog builds up, the planner otherwise prefers to filter every pending row and sort (100x slower).
    this.pool = new Pool({ ...this.connection, max: 3, options: '-c synchronous_commit=off -c enable_sort=off -c enable_bitmapscan=off' });
    this.pool.on('error', (error) => {
      this.logger.warn(`A connection of the ${this.module} relay failed: ${describe(error)}`);
    });
    this.sql = statements(`"${deps.module}"`);
  }

  /** LISTENs, then claims at once and whenever woken (NOTIFY at commit, a finished batch, a due retry) or polled. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`The ${this.module} relay was already started; create a new OutboxRelay.`);
    this.state = 'running';
    try {
      await this.connectListener();
    } catch (error) {
      this.state = 'stopped';
      throw error;
    }
    this.loopDone = this.loop();
    this.schedulePrune();
  }

  /**
   * Drains: stops claiming, lets deliveries in progress finish, records their outcome, releases every lease it
   * still holds (another instance can take over at once), then closes its LISTEN connection.
   */
  stop(): Promise<void> {
    this.stopped ??= this.state === 'running' ? this.drain() : this.pool.end().then(() => void (this.state = 'stopped'));
    return this.stopped;
  }

  /** Claims one batch, delivers it and records the outcomes. For tests and tools; do not mix with start(). */
  async runOnce(): Promise<number> {
    const claimed = await this.claim(this.options.batchSize);
    this.enqueue(claimed);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.flushMarks();
    return claimed.length;
  }

  /** Takes the lease of up to `limit` due messages, keeping each key's order. */
  async claim(limit = this.options.batchSize): Promise<ClaimedMessage[]> {
    const first = await this.markAndClaim([], limit);
    if (!first.promoted || first.claimed.length >= limit) return first.claimed;
    // Delayed messages that fell due were made pending by that statement; they are claimable by the next one.
    const more = await this.markAndClaim([], limit - first.claimed.length);
    return [...first.claimed, ...more.claimed].sort(bySeq);
  }

  /**
   * One statement for the loop: marks the given delivered messages dispatched (fenced by the lease) and claims up
   * to `limit` more, and moves up to `limit` due scheduled messages to pending. `successors`: a later message of a
   * marked key is pending, or a scheduled one became due (claiming again may get it).
   */
  private async markAndClaim(
    marks: string[],
    limit: number,
  ): Promise<{ claimed: ClaimedMessage[]; successors: boolean; promoted: boolean }> {
    const claimedAt = Date.now();
    const rows = await this.query<{
      kind: 'claimed' | 'marked' | 'promoted';
      seq: string;
      message_id: string;
      type: string;
      key: string;
      attempts: number;
      envelope: Envelope;
      successor: boolean | null;
    }>(this.sql.markAndClaim, [this.owner, limit, this.options.leaseMs, marks]);
    const marked = rows.filter((r) => r.kind === 'marked');
    if (marked.length < marks.length) this.lostLeases(marks.length - marked.length);
    const claimed = rows
      .filter((r) => r.kind === 'claimed')
      .map((r) => ({
        seq: r.seq,
        messageId: r.message_id,
        type: r.type,
        key: r.key,
        attempts: r.attempts,
        envelope: r.envelope,
        claimedAt,
      }))
      .sort(bySeq);
    const promoted = rows.some((r) => r.kind === 'promoted');
    return { claimed, successors: marked.some((r) => r.successor) || promoted, promoted };
  }

  private lostLeases(count: number): void {
    this.logger.warn(
      `Lost the lease of ${count} delivered message(s) before marking them; their new owner delivers them again and consumers skip them as duplicates.`,
    );
  }

  /** Marks messages dispatched if this relay still holds their lease; returns how many it marked. */
  async markDispatched(seqs: string[]): Promise<number> {
    if (seqs.length === 0) return 0;
    const marked = (await this.query(this.sql.markDispatched, [seqs, this.owner])).length;
    if (marked < seqs.length) this.lostLeases(seqs.length - marked);
    return marked;
  }

  /** Gives up the lease of messages not delivered (they become claimable at once). */
  async release(seqs: string[]): Promise<void> {
    if (seqs.length > 0) await this.query(this.sql.release, [seqs, this.owner]);
  }

  /** Deletes dispatched outbox rows and inbox rows older than their retention, in small batches. */
  async prune(): Promise<{ outbox: number; inbox: number }> {
    const removed = { outbox: 0, inbox: 0 };
    for (const [table, retention] of [
      ['outbox', this.options.outboxRetentionMs],
      ['inbox', this.options.inboxRetentionMs],
    ] as const) {
      for (;;) {
        const [{ n }] = await this.query<{ n: number }>(this.sql.prune[table], [retention, this.options.pruneBatchSize]);
        removed[table] += n;
        if (n < this.options.pruneBatchSize || this.state === 'stopping') break;
      }
    }
    return removed;
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      this.woken = false;
      // Claim whole batches (they make big delivery batches), up to two at a time: one is delivered, one waits ready.
      // The same statement marks what was delivered since the last one: one round trip instead of two.
      this.waitingForRoom = this.inFlight > this.options.batchSize;
      const limit = this.waitingForRoom ? 0 : this.options.batchSize;
      const marks = this.toMark.splice(0);
      let again = false;
      if (limit > 0 || marks.length > 0) {
        try {
          const { claimed, successors } = await this.markAndClaim(marks, limit);
          if (this.state !== 'running') break; // drain() releases them
          this.enqueue(claimed);
          again = (limit > 0 && claimed.length === limit) || successors;
        } catch (error) {
          this.toMark.push(...marks);
          this.logger.error(
            `Claiming from ${this.module}.outbox failed (${describe(error)}); trying again in ${this.options.pollIntervalMs} ms.`,
          );
        }
      }
      if (!again) await this.sleep(this.options.pollIntervalMs);
    }
  }

  /** Splits a claimed batch into up to `concurrency` lanes of whole key runs (earliest first) and starts them. */
  private enqueue(claimed: ClaimedMessage[]): void {
    const runs = new Map<string, ClaimedMessage[]>();
    for (const message of claimed) runs.set(message.key, [...(runs.get(message.key) ?? []), message]);
    const target = Math.ceil(claimed.length / this.options.concurrency);
    let lane: ClaimedMessage[][] = [];
    let size = 0;
    for (const run of runs.values()) {
      lane.push(run);
      size += run.length;
      if (size >= target) {
        this.queue.push(lane);
        lane = [];
        size = 0;
      }
    }
    if (lane.length > 0) this.queue.push(lane);
    this.inFlight += claimed.length;
    this.pump();
  }

  private pump(): void {
    while (this.state !== 'stopping' && this.running.size < this.options.concurrency && this.queue.length > 0) {
      const lane = this.queue.shift()!;
      const size = lane.reduce((n, run) => n + run.length, 0);
      const run: Promise<void> = this.deliverLane(lane.flat())
        .catch((error) => {
          this.logger.error(
            `Recording delivery outcomes failed (${describe(error)}); the leases expire and the messages are delivered again.`,
          );
        })
        .finally(() => {
          this.running.delete(run);
          this.inFlight -= size;
          this.pump();
          if (this.waitingForRoom && this.inFlight <= this.options.batchSize) this.wake();
        });
      this.running.add(run);
    }
  }

  /**
   * Sends a lane (key runs, each in order) in batches. When a send fails because of one message (a one-message
   * send, or a MessageDeliveryError naming it), that message is retried or dead-lettered and the rest of the lane
   * goes on without it (and, if it will be retried, without the later messages of its key). Otherwise the lane
   * goes on one message at a time to find the culprit.
   */
  private async deliverLane(messages: ClaimedMessage[]): Promise<void> {
    for (let start = 0; start < messages.length; start += this.options.deliveryBatchSize) {
      const batch = messages.slice(start, start + this.options.deliveryBatchSize);
      if (this.state === 'stopping') return; // drain() releases the rest
      if (this.leaseRunningOut(batch[0])) return this.release(messages.slice(start).map((m) => m.seq));
      try {
        await this.transport.send(batch.map((m) => m.envelope));
        this.markLater(batch);
      } catch (error) {
        if (isTransportUnavailable(error)) return this.postpone(messages.slice(start), error);
        const named =
          error instanceof MessageDeliveryError
            ? batch.find((m) => m.messageId.toLowerCase() === error.messageId.toLowerCase())
            : undefined;
        const culprit = batch.length === 1 ? batch[0] : named;
        if (!culprit) return this.deliverOneByOne(messages.slice(start));
        const outcome = await this.recordFailure(culprit, named ? (error as MessageDeliveryError).cause : error);
        const rest = messages.slice(start).filter((m) => m !== culprit);
        const held = outcome === 'retry' ? rest.filter((m) => m.key === culprit.key && BigInt(m.seq) > BigInt(culprit.seq)) : [];
        await this.release(held.map((m) => m.seq));
        return this.deliverLane(rest.filter((m) => !held.includes(m)));
      }
    }
  }

  /**
   * Finds the failing message(s): each is retried with backoff or dead-lettered; the rest of a key whose
   * message will be retried is released (it must not overtake). Messages already applied are skipped by the inboxes.
   */
  private async deliverOneByOne(messages: ClaimedMessage[]): Promise<void> {
    const heldKeys = new Set<string>();
    const release: string[] = [];
    for (const message of messages) {
      if (this.state === 'stopping') break;
      if (heldKeys.has(message.key) || this.leaseRunningOut(message)) {
        release.push(message.seq);
        continue;
      }
      try {
        await this.transport.send([message.envelope]);
        this.markLater([message]);
      } catch (error) {
        if (isTransportUnavailable(error)) {
          await this.release(release);
          return this.postpone(
            messages.slice(messages.indexOf(message)).filter((m) => !release.includes(m.seq)),
            error,
          );
        }
        if ((await this.recordFailure(message, error)) === 'retry') heldKeys.add(message.key);
      }
    }
    await this.release(release);
  }

  /**
   * The transport is unavailable (its broker is down): nothing of these was handed over. They wait a jittered
   * base·2^4 (3.2 s by default) and go again, in order, without counting an attempt, so an outage of any length
   * never dead-letters a message.
   */
  private async postpone(messages: ClaimedMessage[], error: unknown): Promise<void> {
    if (messages.length === 0) return;
    const full = Math.min(this.options.retry.capMs, this.options.retry.baseMs * 2 ** 4);
    const delay = Math.round(full / 2 + Math.random() * (full / 2));
    const reason = describe(error);
    const history = JSON.stringify([{ at: new Date().toISOString(), attempt: 0, error: reason }]);
    await this.query(this.sql.postpone, [messages.map((m) => m.seq), this.owner, delay, reason, history]);
    const now = Date.now();
    if (now - this.lastUnavailableLog > 10_000) {
      this.lastUnavailableLog = now;
      this.logger.warn(
        `The transport is unavailable (${reason}); ${messages.length} message(s) of ${this.module} wait in the outbox and go again in ${delay} ms (no attempt is counted).`,
      );
    }
    this.wakeAt(now + delay);
  }

  /** Too little lease left to start safely: let the next claim (ours or another instance's) take it. */
  private leaseRunningOut(message: ClaimedMessage): boolean {
    return Date.now() - message.claimedAt > this.options.leaseMs / 2;
  }

  private markLater(messages: ClaimedMessage[]): void {
    for (const m of messages) this.toMark.push(m.seq);
    this.wake(); // the loop marks them (and claims more) at once
  }

  /** Marks what was delivered (when the loop is not running: drain, runOnce). */
  private async flushMarks(): Promise<void> {
    const seqs = this.toMark.splice(0);
    try {
      await this.markDispatched(seqs);
    } catch (error) {
      this.logger.error(
        `Marking ${seqs.length} delivered message(s) failed (${describe(error)}); the leases expire and they are delivered again (consumers skip them).`,
      );
    }
  }

  private async recordFailure(message: ClaimedMessage, error: unknown): Promise<'retry' | 'dead'> {
    const attempt = message.attempts + 1;
    const reason = describe(error);
    const history = JSON.stringify([{ at: new Date().toISOString(), attempt, error: reason }]);
    const what = `${message.type} ${message.messageId} (key ${message.key})`;
    if (isNonRetryable(error) || attempt >= this.options.retry.maxAttempts) {
      const rows = await this.query(this.sql.deadLetter, [message.seq, this.owner, attempt, reason, history]);
      if (rows.length > 0) {
        const why = isNonRetryable(error) ? 'a non-retryable error' : `${attempt} attempts`;
        this.logger.warn(
          `Dead-lettered ${what} after ${why}: ${reason}. Inspect it with 'messages dead-letters show ${this.module} ${message.messageId}', fix the cause, then requeue or purge it.`,
        );
      }
      return 'dead';
    }
    const delay = retryDelayMs(attempt, this.options.retry);
    await this.query(this.sql.retry, [message.seq, this.owner, attempt, reason, history, delay]);
    this.logger.warn(
      `Delivering ${what} failed (attempt ${attempt} of ${this.options.retry.maxAttempts}); retrying in ${delay} ms: ${reason}`,
    );
    this.wakeAt(Date.now() + delay);
    return 'retry';
  }

  private async drain(): Promise<void> {
    this.state = 'stopping';
    clearTimeout(this.pruneTimer);
    clearTimeout(this.retryTimer?.timer);
    clearTimeout(this.reconnectTimer);
    this.wake();
    await this.loopDone;
    this.queue.length = 0; // not started: released below
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.flushMarks();
    await this.pruning;
    try {
      await this.query(this.sql.releaseAll, [this.owner]);
    } catch (error) {
      this.logger.warn(`Releasing leases on shutdown failed (${describe(error)}); they expire within ${this.options.leaseMs} ms.`);
    }
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
    this.state = 'stopped';
  }

  /** Named prepared statements: each relay connection parses and plans a statement once, not on every claim. */
  private async query<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<T[]> {
    let name = this.statementNames.get(sql);
    if (!name) this.statementNames.set(sql, (name = `relay_${this.module}_${this.statementNames.size}`));
    return (await this.pool.query({ name, text: sql, values: params })).rows as T[];
  }

  private wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake(), ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  /** Wake when a retry we scheduled falls due (sooner than the backstop poll). */
  private wakeAt(at: number): void {
    if (this.state !== 'running' || (this.retryTimer && this.retryTimer.at <= at)) return;
    clearTimeout(this.retryTimer?.timer);
    this.retryTimer = { at, timer: setTimeout(() => ((this.retryTimer = undefined), this.wake()), Math.max(0, at - Date.now())) };
  }

  private schedulePrune(): void {
    this.pruneTimer = setTimeout(() => {
      this.pruning = this.prune()
        .catch((error) => {
          this.logger.warn(`Pruning ${this.module}'s outbox/inbox failed (${describe(error)}); trying again later.`);
        })
        .finally(() => {
          this.pruning = undefined;
          if (this.state === 'running') this.schedulePrune();
        });
    }, this.options.pruneIntervalMs);
  }

  private async connectListener(): Promise<void> {
    const client = new Client(this.connection);
    const lost = (error?: unknown) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.state !== 'running') return;
      this.logger.warn(
        `The LISTEN connection of the ${this.module} relay dropped (${error ? describe(error) : 'closed'}); polling every ${this.options.pollIntervalMs} ms until it is back.`,
      );
      const retry = () => this.connectListener().then(() => this.wake(), lost);
      this.reconnectTimer = setTimeout(() => void retry(), Math.max(1_000, this.options.pollIntervalMs));
    };
    client.on('notification', () => this.wake());
    client.on('error', lost);
    client.on('end', () => lost());
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${outboxChannel(this.module)}`);
    } catch (error) {
      this.listener = undefined;
      await client.end().catch(() => undefined);
      throw new Error(`The ${this.module} relay could not LISTEN for new messages: ${describe(error)}`, { cause: error });
    }
  }
}

function statements(schema: string) {
  const table = `${schema}.outbox`;
  const fenced = `seq = $1 AND lease_owner = $2 AND status = 'pending'`;
  const appendError = `attempts = $3, last_error = $4,
    errors = (CASE WHEN jsonb_array_length(errors) >= 50 THEN errors - 0 ELSE errors END) || $5::jsonb, lease_owner = NULL, lease_until = NULL`;
  return {
    // candidates: due, unleased rows with no earlier same-key row that is waiting (retry backoff) or leased;
    //   SKIP LOCKED lets relays claim side by side.
    // claimable: drop a candidate if an earlier same-key row is pending but was not locked by this statement
    //   (another relay is claiming it right now): a key's run is never split or reordered.
    // A predecessor whose notBefore lies in the future does not block: delayed messages wait, others pass.
    // OFFSET 0 keeps each NOT EXISTS a per-row probe of outbox_pending_key; as joins, the planner would scan the
    // whole table (dispatched rows included) on every claim.
    // marked: deliveries finished since the last statement ($4), fenced by the lease. successor: a later message
    //   of the key is pending, so the loop claims again at once (this statement's snapshot still sees it blocked).
    // promoted: scheduled (delayed) messages that fell due become pending; the next statement can claim them.
    markAndClaim: `WITH marked AS (
        UPDATE ${table} o SET status = 'dispatched', dispatched_at = now(), lease_until = NULL
         WHERE o.seq = ANY ($4::bigint[]) AND o.lease_owner = $1 AND o.status = 'pending'
        RETURNING o.seq, EXISTS (SELECT 1 FROM ${table} p WHERE p.status = 'pending' AND p.key = o.key AND p.seq > o.seq AND p.seq <> ALL ($4::bigint[])) AS successor
      ), candidates AS MATERIALIZED (
        SELECT o.seq, o.key FROM ${table} o
         WHERE o.status = 'pending' AND o.available_at <= now() AND (o.lease_until IS NULL OR o.lease_until < now())
           AND o.seq <> ALL ($4::bigint[])
           AND NOT EXISTS (SELECT 1 FROM ${table} p
                 WHERE p.status = 'pending' AND p.key = o.key AND p.seq < o.seq
                   AND (p.not_before IS NULL OR p.not_before <= now())
                   AND (p.available_at > now() OR p.lease_until >= now())
                 OFFSET 0)
         ORDER BY o.seq
         LIMIT $2
         FOR UPDATE OF o SKIP LOCKED
      ), claimable AS (
        SELECT c.seq FROM candidates c
         WHERE NOT EXISTS (SELECT 1 FROM ${table} p
                 WHERE p.status = 'pending' AND p.key = c.key AND p.seq < c.seq
                   AND (p.not_before IS NULL OR p.not_before <= now())
                   AND p.seq NOT IN (SELECT seq FROM candidates)
                 OFFSET 0)
      ), claimed AS (
        UPDATE ${table} o SET lease_owner = $1, lease_until = now() + $3 * interval '1 millisecond'
         WHERE o.seq = ANY (ARRAY(SELECT seq FROM claimable))
        RETURNING o.seq, o.message_id, o.type, o.key, o.attempts, o.envelope
      ), promoted AS (
        UPDATE ${table} o SET status = 'pending'
         WHERE o.seq = ANY (ARRAY(SELECT seq FROM ${table} WHERE status = 'scheduled' AND available_at <= now()
                                   ORDER BY available_at LIMIT $2 FOR UPDATE SKIP LOCKED))
        RETURNING o.seq
      )
      SELECT 'claimed' AS kind, seq, message_id, type, key, attempts, envelope, NULL::boolean AS successor FROM claimed
      UNION ALL
      SELECT 'marked', seq, NULL, NULL, NULL, NULL, NULL, successor FROM marked
      UNION ALL
      SELECT 'promoted', seq, NULL, NULL, NULL, NULL, NULL, NULL FROM promoted`,
    markDispatched: `UPDATE ${table} SET status = 'dispatched', dispatched_at = now(), lease_until = NULL
      WHERE seq = ANY($1::bigint[]) AND lease_owner = $2 AND status = 'pending' RETURNING seq`,
    release: `UPDATE ${table} SET lease_owner = NULL, lease_until = NULL WHERE seq = ANY($1::bigint[]) AND lease_owner = $2 AND status = 'pending'`,
    releaseAll: `UPDATE ${table} SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND status = 'pending'`,
    retry: `UPDATE ${table} SET available_at = now() + $6 * interval '1 millisecond', ${appendError} WHERE ${fenced} RETURNING seq`,
    deadLetter: `UPDATE ${table} SET status = 'dead', dead_at = now(), ${appendError} WHERE ${fenced} RETURNING seq`,
    // The transport was unavailable: back in line after $3 ms with the error noted, attempts unchanged.
    postpone: `UPDATE ${table} SET available_at = now() + $3 * interval '1 millisecond', last_error = $4,
        errors = (CASE WHEN jsonb_array_length(errors) >= 50 THEN errors - 0 ELSE errors END) || $5::jsonb, lease_owner = NULL, lease_until = NULL
      WHERE seq = ANY($1::bigint[]) AND lease_owner = $2 AND status = 'pending'`,
    prune: {
      outbox: `WITH gone AS (DELETE FROM ${table} WHERE seq IN (
          SELECT seq FROM ${table} WHERE status = 'dispatched' AND dispatched_at < now() - $1 * interval '1 millisecond' LIMIT $2) RETURNING 1)
        SELECT count(*)::int AS n FROM gone`,
      inbox: `WITH gone AS (DELETE FROM ${schema}.inbox WHERE (consumer, message_id) IN (
          SELECT consumer, message_id FROM ${schema}.inbox WHERE processed_at < now() - $1 * interval '1 millisecond' LIMIT $2) RETURNING 1)
        SELECT count(*)::int AS n FROM gone`,
    },
  };
}

function bySeq(a: ClaimedMessage, b: ClaimedMessage): number {
  return BigInt(a.seq) < BigInt(b.seq) ? -1 : 1;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2_000);
  return String(error).slice(0, 2_000);
}
