import { Logger, type LoggerService } from '@nestjs/common';
import type { ModuleDb } from '../../database/module-db';
import type { MessageTransport } from '../transports/transport';
import type { DeliveryGate } from './delivery-gate';
import type { Envelope } from './envelope';
import { describeError, isDatabaseUnavailable, isTransportUnavailable } from './errors';
import { type MessagingObserver, NO_MESSAGING_OBSERVER } from './observer';
import { type HandedOff, type Outbox, type OutboxCourier, assertModuleName } from './outbox';
import type { RelayPresence } from './presence';
import { type RelayOptions, type RelayOptionsInput, resolveRelayOptions } from './relay-options';
import { type Held, type Outcome, RelayOutcomes, throttledWarnings } from './relay-outcomes';
import { type RelayStatements, relayStatements } from './relay-sql';

export interface OutboxRelayDeps {
  module: string;
  db: ModuleDb;
  outbox: Outbox;
  transport: MessageTransport;
  gate: DeliveryGate;
  presence: RelayPresence;
  options?: RelayOptionsInput;
  logger?: LoggerService;
  /** Metrics and traces of the relay's work (default: none). */
  observer?: MessagingObserver;
}

/**
 * Moves one module's committed outbox messages to its consumers, keeping each key in commit order.
 *
 * The way of a message: the producing transaction leases it to this relay in its own insert (see Outbox) and, once
 * committed, hands it over here; it joins its key's line, and the head of every line is delivered through the
 * transport (in process: the consumers' inbox transactions), as many lines at once as the delivery gate allows.
 * Delivered messages are deleted in batches. Nothing polls and nothing is claimed on this path.
 *
 * The backstop, every `pollIntervalMs` (and on NOTIFY): take over the messages of relays that are gone (their
 * presence lock is free) or whose lease ran out, retries that fell due, requeued dead letters, due timers; claim them
 * with `FOR UPDATE SKIP LOCKED`, in seq order per key, and put them in the same lines. Every write is fenced by the
 * lease owner, so several instances share one outbox.
 *
 * Failures: a message that fails is retried with backoff (or dead-lettered after the last attempt, or at once when
 * non-retryable), and the rest of its key waits for it: its line is handed back to the backstop claim. A transport
 * or database that is unavailable costs no attempt. A message claimed again and again without an outcome (the
 * process died while delivering it) is delivered alone, and dead-lettered if the process dies of it alone too.
 */
export class OutboxRelay implements OutboxCourier {
  readonly module: string;
  readonly options: RelayOptions;
  private readonly logger: LoggerService;
  private readonly sql: RelayStatements;
  private readonly observer: MessagingObserver;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  /** key → its line; the head is being delivered. */
  private readonly lines = new Map<string, Held[]>();
  private readonly running = new Set<Promise<void>>();
  /** Keys whose message failed just now: hand-offs of them go to the backstop, which keeps the order. */
  private readonly holds = new Map<string, number>();
  private readonly outcomes: RelayOutcomes;
  private readonly warnOnce: (what: string, message: string) => void;
  private stopRiding?: () => void;
  /** Resolves once the relay has lived `suspectAfterUptimeMs` (or stops); suspects wait for it. Unset: driven by hand. */
  private settled?: Promise<void>;
  private settle?: () => void;

  private loopDone?: Promise<void>;
  private woken = false;
  /** The last claim filled the room it had: more may be due, so the loop claims again once half a batch has drained. */
  private behind = false;
  private wakeUp?: () => void;
  private timer?: { at: number; handle: NodeJS.Timeout };
  private pruneTimer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;

  constructor(private readonly deps: OutboxRelayDeps) {
    assertModuleName(deps.module);
    this.module = deps.module;
    this.options = resolveRelayOptions(deps.options);
    this.logger = deps.logger ?? new Logger(`OutboxRelay:${deps.module}`);
    this.sql = relayStatements(deps.module);
    this.observer = deps.observer ?? NO_MESSAGING_OBSERVER;
    this.warnOnce = throttledWarnings(this.logger);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the outcomes read the relay's live state
    const relay = this;
    this.outcomes = new RelayOutcomes({
      module: this.module,
      options: this.options,
      db: deps.db,
      sql: this.sql,
      logger: this.logger,
      observer: this.observer,
      get owner() {
        return relay.owner;
      },
      get running() {
        return relay.state === 'running';
      },
      wakeAt: (at) => this.wakeAt(at),
      wake: () => this.wake(),
    });
  }

  get owner(): string {
    return this.deps.presence.owner;
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  carries(type: string): boolean {
    return this.deps.transport.carries(type);
  }

  /** Messages waiting in memory or being delivered. */
  get inFlight(): number {
    let n = 0;
    for (const line of this.lines.values()) n += line.length;
    return n;
  }

  /** Announces itself (presence), starts the backstop loop and attaches to the outbox. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`The ${this.module} relay was already started; create a new OutboxRelay.`);
    this.state = 'running';
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
      setTimeout(resolve, this.options.suspectAfterUptimeMs).unref();
    });
    await this.deps.presence.join(this.module, { connectionString: this.deps.db.connectionString }, () => this.wake());
    this.deps.outbox.attach(this);
    this.stopRiding = this.deps.db.rideAlong(() => this.outcomes.ride());
    this.loopDone = this.loop();
    this.schedulePrune();
    this.renewTimer = setInterval(() => void this.renewLeases(), Math.max(50, Math.floor(this.options.leaseMs / 3)));
  }

  /**
   * Drains: takes nothing new, lets the deliveries in progress finish and records them, releases every lease it
   * still holds (another instance takes over at once), then stops.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.settle?.();
    this.deps.outbox.attach(undefined);
    this.stopRiding?.();
    this.deps.presence.leave(this.module);
    clearTimeout(this.pruneTimer);
    clearInterval(this.renewTimer);
    clearTimeout(this.timer?.handle);
    this.wake();
    await this.loopDone;
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.outcomes.flush();
    await this.deps.db.bookkeeping(this.sql.releaseAll, [this.owner]).catch((error: unknown) => {
      this.logger.warn(`Releasing leases on shutdown failed (${describeError(error)}); they are taken over once this process is gone.`);
    });
    this.lines.clear();
    this.state = 'stopped';
  }

  /** The fast path: messages committed a moment ago, leased to us in their insert. */
  handOff(messages: HandedOff[]): void {
    if (this.state !== 'running') return; // still leased to us: released by stop()
    this.observer.taken(this.module, 'handoff', messages.length);
    const now = Date.now();
    const release: string[] = [];
    for (const m of messages) {
      if ((this.holds.get(m.envelope.key) ?? 0) > now) release.push(m.seq);
      else this.enqueue({ seq: m.seq, envelope: m.envelope, awaited: m.awaited, attempts: 0, claims: 1, soloRuns: 0 });
    }
    if (release.length > 0) void this.outcomes.release(release);
  }

  /** Wake when a timer we know of falls due. */
  wakeAt(at: number): void {
    if (this.state !== 'running' || (this.timer && this.timer.at <= at)) return;
    clearTimeout(this.timer?.handle);
    this.timer = { at, handle: setTimeout(() => ((this.timer = undefined), this.wake()), Math.max(0, at - Date.now())) };
  }

  /** One backstop round: take over, claim, deliver, record. For tests and tools; do not mix with start(). */
  async runOnce(): Promise<number> {
    await this.deps.db.bookkeeping(this.sql.breakDeadLeases, [this.owner]);
    const { claimed } = await this.claim();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.outcomes.flush();
    return claimed;
  }

  private enqueue(message: Held): void {
    const line = this.lines.get(message.envelope.key);
    if (line) return void line.push(message);
    this.lines.set(message.envelope.key, [message]);
    this.startLine(message.envelope.key);
  }

  private startLine(key: string): void {
    const line = this.lines.get(key);
    if (!line || line.length === 0) return void this.lines.delete(key);
    const head = line[0];
    const run = this.deliverHead(head).then(
      (outcome) => this.finished(key, outcome),
      (error: unknown) => {
        this.logger.error(`Delivering ${head.envelope.type} ${head.envelope.id} went wrong unexpectedly: ${describeError(error)}`);
        this.finished(key, 'held');
      },
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private finished(key: string, outcome: Outcome): void {
    const line = this.lines.get(key);
    if (!line) return;
    line.shift();
    if (outcome === 'held' || outcome === 'stopped') {
      // The rest of the key must not overtake the head: back to the backstop claim, which keeps the order.
      this.lines.delete(key);
      if (outcome === 'held') {
        this.holds.set(key, Date.now() + Math.max(1_000, this.options.pollIntervalMs * 2));
        void this.outcomes.release(line.map((m) => m.seq));
      }
      return;
    }
    this.startLine(key);
    // A backlog: claim the next part once half a batch is free, instead of waiting for the poll interval.
    if (this.behind && this.inFlight <= this.options.batchSize / 2) {
      this.behind = false;
      this.wake();
    }
  }

  private async deliverHead(message: Held): Promise<Outcome> {
    const suspect = message.claims >= this.options.suspectAfterClaims;
    if (suspect && message.soloRuns >= this.options.maxSoloRuns) {
      return this.outcomes.deadLetter(
        message,
        `The process died while applying ${message.envelope.type} ${message.envelope.id} alone, ${message.soloRuns} time(s) ` +
          `(claimed ${message.claims} times without an outcome): it most likely crashes the process (an exit or an out-of-memory in a handler).`,
      );
    }
    if (!suspect) return this.deps.gate.run(() => this.deliver(message));
    await this.settled; // only a process that has lived a while tells whether the message kills it
    return this.deps.gate.solo(() => this.deliverAlone(message));
  }

  /** Started, or driven by hand (runOnce): deliveries may go on. */
  private get active(): boolean {
    return this.state === 'running' || this.state === 'new';
  }

  private async deliverAlone(message: Held): Promise<Outcome> {
    if (!this.active) return 'stopped';
    const marked = await this.deps.db.bookkeeping(this.sql.soloStart, [message.seq, this.owner]).catch(() => []);
    if (marked.length === 0) return 'held'; // lease lost (or database away): the backstop sorts it out
    this.logger.warn(
      `Delivering ${message.envelope.type} ${message.envelope.id} (key ${message.envelope.key}) alone: it was claimed ${message.claims} ` +
        `times without an outcome, so the process may have died of it.`,
    );
    const outcome = await this.deliver(message);
    // The outcome is recorded before anything else runs: a death after this point is not the message's doing.
    if (outcome === 'delivered') await this.outcomes.flush();
    return outcome;
  }

  private async deliver(message: Held): Promise<Outcome> {
    if (!this.active) return 'stopped';
    const done = this.observer.delivering(this.module, message.envelope);
    try {
      await this.deps.transport.deliver(message.envelope);
    } catch (error) {
      if (isTransportUnavailable(error) || isDatabaseUnavailable(error)) {
        done('unavailable');
        return this.outcomes.postpone(message, error);
      }
      done('failed');
      return this.outcomes.failed(message, error);
    }
    done('delivered');
    this.outcomes.delivered(message);
    const hold = this.holds.get(message.envelope.key);
    if (hold !== undefined) this.holds.delete(message.envelope.key);
    return 'delivered';
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      this.woken = false;
      let again = false;
      try {
        await this.outcomes.releaseForgotten();
        await this.deps.db.bookkeeping(this.sql.breakDeadLeases, [this.owner]);
        if (this.state !== 'running') break;
        const { claimed, promoted, room } = await this.claim();
        this.behind = claimed >= room; // full (or no room at all): more may be due
        again = claimed >= this.options.batchSize || promoted > 0;
      } catch (error) {
        this.warnOnce(
          'claim',
          `Claiming from ${this.module}.outbox failed (${describeError(error)}); trying again in ${this.options.pollIntervalMs} ms.`,
        );
      }
      if (!again) await this.sleep(this.options.pollIntervalMs);
    }
  }

  /** Claims due messages (and promotes due timers); puts them in their keys' lines. */
  private async claim(): Promise<{ claimed: number; promoted: number; room: number }> {
    const room = Math.max(0, this.options.batchSize - this.inFlight);
    if (room === 0) return { claimed: 0, promoted: 0, room };
    const rows = await this.deps.db.bookkeeping<{
      seq: string | null;
      key: string;
      attempts: number;
      claims: number;
      solo_runs: number;
      envelope: Envelope;
      promoted: number;
      next_timer: Date | null;
    }>(this.sql.claim, [this.owner, room, this.options.leaseMs]);
    const claimed = rows.filter((r) => r.seq !== null).sort((a, b) => (BigInt(a.seq!) < BigInt(b.seq!) ? -1 : 1));
    if (!this.active) {
      await this.outcomes.release(claimed.map((r) => r.seq!));
      return { claimed: 0, promoted: 0, room };
    }
    if (claimed.length > 0) this.observer.taken(this.module, 'claim', claimed.length);
    for (const r of claimed) {
      this.holds.delete(r.key);
      this.enqueue({ seq: r.seq!, envelope: r.envelope, awaited: true, attempts: r.attempts, claims: r.claims, soloRuns: r.solo_runs });
    }
    const next = rows[0]?.next_timer;
    if (next instanceof Date && Number.isFinite(next.getTime())) this.wakeAt(next.getTime());
    return { claimed: claimed.length, promoted: rows[0]?.promoted ?? 0, room };
  }

  /** Keeps the leases of messages waiting in memory, so a long line is not taken over while it waits. */
  private async renewLeases(): Promise<void> {
    const seqs = [...this.lines.values()].flat().map((m) => m.seq);
    if (seqs.length === 0 || this.state !== 'running') return;
    await this.deps.db.bookkeeping(this.sql.renew, [seqs, this.owner, this.options.leaseMs]).catch(() => undefined);
  }

  /** Deletes inbox rows older than their retention, in small batches. */
  async prune(): Promise<{ inbox: number }> {
    let inbox = 0;
    for (;;) {
      const [{ n }] = await this.deps.db.bookkeeping<{ n: number }>(this.sql.pruneInbox, [
        this.options.inboxRetentionMs,
        this.options.pruneBatchSize,
      ]);
      inbox += n;
      if (n < this.options.pruneBatchSize || this.state !== 'running') return { inbox };
    }
  }

  private schedulePrune(): void {
    this.pruneTimer = setTimeout(() => {
      this.prune()
        .catch(
          (error: unknown) => void this.logger.warn(`Pruning ${this.module}'s inbox failed (${describeError(error)}); trying again later.`),
        )
        .finally(() => {
          if (this.state === 'running') this.schedulePrune();
        });
    }, this.options.pruneIntervalMs);
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
}
