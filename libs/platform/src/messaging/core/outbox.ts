import { Inject } from '@nestjs/common';
import { type Statement, type Tx, customPlanned, statement } from '../../database/module-db';
import type { MessageCatalog } from '../catalogue/catalog';
import { type MessageContract, type PayloadInput, type PayloadOf, parsePayload } from './contract';
import { type Envelope, type EnvelopeOptions, createEnvelope } from './envelope';
import { OutboxRequiresTransactionError } from './errors';
import { type MessagingObserver, NO_MESSAGING_OBSERVER } from './observer';

export interface OutboxAddOptions extends EnvelopeOptions {
  /**
   * A timer that starts only when another message added in the same transaction has been handed over (delivered,
   * or enqueued on its transport): it then waits `delayMs` and goes out. While the other message waits for an
   * unreachable transport, the timer does not run. A saga step's deadline, counted from the command's delivery.
   */
  startsAfter?: string;
  delayMs?: number;
}

const MODULE_NAME = /^[a-z][a-z0-9_]{0,40}$/;

export function assertModuleName(module: string): void {
  if (!MODULE_NAME.test(module)) throw new Error(`Module name '${module}' must match ${MODULE_NAME} (it is also a schema name).`);
}

/** Injection token of a module's Outbox. */
export function outboxToken(module: string): string {
  return `Outbox:${module}`;
}

/** `constructor(@InjectOutbox('billing') outbox: Outbox)`; provided by MessagingModule.forModule('billing'). */
export const InjectOutbox = (module: string) => Inject(outboxToken(module));

/** A committed message leased to the local relay at insert, handed to it right after the commit. */
export interface HandedOff {
  seq: string;
  envelope: Envelope;
  /** A timer of the same transaction starts when this message is handed over (OutboxAddOptions.startsAfter). */
  awaited: boolean;
}

/** What the outbox needs from its module's relay (the relay implements it). */
export interface OutboxCourier {
  /** Lease owner token of this process's relays. */
  readonly owner: string;
  readonly leaseMs: number;
  /** Whether any consumer reachable from here handles `type`. A message nobody consumes is validated, then not stored. */
  carries(type: string): boolean;
  /** After the commit: the messages leased to this relay, in commit order, to deliver now. */
  handOff(messages: HandedOff[]): void;
  /** A scheduled message falls due at `at` (epoch ms). */
  wakeAt(at: number): void;
}

interface Pending {
  envelope: Envelope;
  notBefore: Date | null;
  startsAfter: string | null;
  delayMs: number | null;
}

/**
 * A module's outbox: messages written in the same transaction as the business change. `add` validates and buffers;
 * just before the transaction commits, the buffered messages go in with one multi-row insert (pipelined with the
 * COMMIT). A message whose key has nothing older waiting elsewhere is leased to this process's relay in that insert
 * and handed to it after the commit: no claim, no notification, no poll on the way to its consumers. Everything
 * else (a key with an older message held by another instance or waiting for a retry, a delayed message) is left to
 * the relay's backstop claim, which keeps each key in commit order. Nothing is sent if the transaction rolls back.
 */
export class Outbox {
  private courier?: OutboxCourier;
  private readonly sql: { lockKeys: Statement; insert: Statement; withdraw: Statement };

  constructor(
    readonly module: string,
    private readonly catalog?: MessageCatalog,
    private readonly observer: MessagingObserver = NO_MESSAGING_OBSERVER,
  ) {
    assertModuleName(module);
    const table = `"${module}".outbox`;
    this.sql = {
      // Producers of one key take turns until commit, so seq order is commit order within a key. A separate
      // statement: the insert's snapshot must be taken after the lock, to see what the previous holder committed.
      lockKeys: statement(
        `SELECT count(pg_advisory_xact_lock(hashtext($1), hashtext(k)))::int AS n FROM (SELECT DISTINCT unnest($2::text[]) AS k ORDER BY 1) keys`,
      ),
      // fast: leased to the local relay at once, unless an older message of its key is pending and not ours (held by
      // another relay, waiting for a retry, requeued): then the backstop claim delivers both, in order.
      insert: statement(`INSERT INTO ${table} (message_id, type, key, envelope, not_before, available_at, status,
                      lease_owner, lease_until, claims, starts_after, delay_ms)
        SELECT m.id, m.type, m.key, m.envelope, m.not_before,
               CASE WHEN m.starts_after IS NOT NULL THEN 'infinity' ELSE coalesce(m.not_before, now()) END,
               CASE WHEN m.starts_after IS NOT NULL OR m.not_before > now() THEN 'scheduled' ELSE 'pending' END,
               CASE WHEN f.fast THEN $1::uuid END, CASE WHEN f.fast THEN now() + $2 * interval '1 millisecond' END,
               CASE WHEN f.fast THEN 1 ELSE 0 END, m.starts_after, m.delay_ms
          FROM unnest($3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::uuid[], $9::int[])
               WITH ORDINALITY AS m(id, type, key, envelope, not_before, starts_after, delay_ms, ord)
         CROSS JOIN LATERAL (SELECT $1::uuid IS NOT NULL AND m.starts_after IS NULL AND (m.not_before IS NULL OR m.not_before <= now())
                  AND NOT EXISTS (SELECT 1 FROM ${table} p WHERE p.status = 'pending' AND p.key = m.key
                                     AND p.lease_owner IS DISTINCT FROM $1::uuid) AS fast) f
         ORDER BY m.ord
        RETURNING seq::text, lease_owner IS NOT NULL AS leased, CASE WHEN status = 'scheduled' THEN available_at END AS due_at`),
      withdraw: customPlanned(`DELETE FROM ${table} WHERE key = $1 AND status = 'scheduled' AND available_at > now()`),
    };
  }

  /** The module's relay, once it runs in this process; until then messages wait for a relay's claim. */
  attach(courier: OutboxCourier | undefined): void {
    this.courier = courier;
  }

  /**
   * Validates the payload against the contract and adds the message to `tx`, to be written when it commits.
   * @throws OutboxRequiresTransactionError when `tx` is not a transaction of this module
   * @throws InvalidMessageError when the payload does not match the contract (nothing is written)
   */
  add<C extends MessageContract>(
    tx: Tx,
    contract: C,
    payload: PayloadInput<C>,
    options: OutboxAddOptions,
  ): Promise<Envelope<PayloadOf<C>>> {
    if (!tx || typeof tx.beforeCommit !== 'function') throw new OutboxRequiresTransactionError(this.module, `add(${contract.type})`);
    if (tx.module !== this.module) {
      throw new OutboxRequiresTransactionError(
        this.module,
        `add(${contract.type})`,
        `got a transaction of the '${tx.module}' module. Publish from the module's own transaction, with its own outbox`,
      );
    }
    if (this.catalog && !this.catalog.allows(this.module, contract.type)) {
      throw new Error(
        `The '${this.module}' module publishes ${contract.type} without declaring it. Add it to MessagingModule.forModule('${this.module}', { publishes: [...] }).`,
      );
    }
    if (typeof options?.key !== 'string' || options.key === '') {
      throw new Error(`outbox.add(${contract.type}) needs options.key: the aggregate id that orders this message (e.g. the order id).`);
    }
    const parsed = parsePayload(contract, payload, 'publish');
    const envelope = createEnvelope(this.module, contract.type, parsed, options);
    const traced = this.observer.published(this.module, envelope);
    if (traced) {
      // a real span of the active trace (the request's, or the handler's that publishes it) instead of a child id
      envelope.traceparent = traced.traceparent;
      if (traced.tracestate) envelope.tracestate = traced.tracestate;
      else delete envelope.tracestate;
    }
    const pending = this.pendingOf(tx);
    if (options.startsAfter !== undefined) {
      if (!pending.some((p) => p.envelope.id === options.startsAfter))
        throw new Error(`outbox.add(${contract.type}): startsAfter must name a message added earlier in the same transaction.`);
      if (!Number.isSafeInteger(options.delayMs) || options.delayMs! < 0)
        throw new Error(`outbox.add(${contract.type}): startsAfter needs delayMs, a whole number of milliseconds ≥ 0.`);
    }
    pending.push({
      envelope,
      notBefore: options.notBefore ?? null,
      startsAfter: options.startsAfter ?? null,
      delayMs: options.startsAfter !== undefined ? options.delayMs! : null,
    });
    return Promise.resolve(envelope);
  }

  /**
   * Withdraws the messages of `key` that wait for their time (a timer the caller no longer needs, e.g. the deadline
   * of a saga step that just ended), in `tx`: those added earlier in it and those already stored. One that is due
   * already is left alone: it goes out and its consumer must ignore it.
   */
  withdrawScheduled(tx: Tx, key: string): void {
    if (tx.module !== this.module) throw new OutboxRequiresTransactionError(this.module, `withdrawScheduled(${key})`);
    const pending = this.pendingOf(tx);
    const now = Date.now();
    const kept = pending.filter((p) => p.envelope.key !== key || !(p.startsAfter || (p.notBefore && p.notBefore.getTime() > now)));
    pending.splice(0, pending.length, ...kept);
    tx.execute(this.sql.withdraw, [key]);
  }

  private pendingOf(tx: Tx): Pending[] {
    let pending = tx.attachments.get(this) as Pending[] | undefined;
    if (!pending) {
      const list: Pending[] = (pending = []);
      tx.attachments.set(this, list);
      tx.beforeCommit(() => this.write(tx, list));
    }
    return pending;
  }

  /** One insert for the transaction's messages; after the commit the relay gets the ones leased to it. */
  private write(tx: Tx, pending: Pending[]): void {
    const courier = this.courier;
    // Not stored: nobody consumes it. A timer that waited for it starts now.
    const dropped = new Set(pending.filter((p) => courier && !courier.carries(p.envelope.type)).map((p) => p.envelope.id));
    const rows = pending
      .filter((p) => !dropped.has(p.envelope.id))
      .map((p) =>
        p.startsAfter && dropped.has(p.startsAfter)
          ? { ...p, startsAfter: null, notBefore: new Date(Date.now() + (p.delayMs ?? 0)), delayMs: null }
          : p,
      );
    if (rows.length === 0) return;
    const keys = rows.map((r) => r.envelope.key);
    tx.execute(this.sql.lockKeys, [`outbox:${this.module}`, keys]);
    const inserted = tx.query<{ seq: string; leased: boolean; due_at: Date | null }>(this.sql.insert, [
      courier?.owner ?? null,
      courier?.leaseMs ?? 0,
      rows.map((r) => r.envelope.id),
      rows.map((r) => r.envelope.type),
      keys,
      rows.map((r) => JSON.stringify(r.envelope)),
      rows.map((r) => r.notBefore),
      rows.map((r) => r.startsAfter),
      rows.map((r) => r.delayMs),
    ]);
    if (!courier) return;
    tx.afterCommit(() => void inserted.then((result) => this.handOff(courier, rows, result)));
  }

  private handOff(courier: OutboxCourier, rows: Pending[], result: { seq: string; leased: boolean; due_at: Date | null }[]): void {
    const fast: HandedOff[] = [];
    const awaited = new Set(rows.map((r) => r.startsAfter).filter(Boolean));
    let due = Infinity;
    result.forEach((r, i) => {
      if (r.leased) fast.push({ seq: r.seq, envelope: rows[i].envelope, awaited: awaited.has(rows[i].envelope.id) });
      else if (r.due_at instanceof Date && Number.isFinite(r.due_at.getTime())) due = Math.min(due, r.due_at.getTime());
    });
    if (fast.length > 0) courier.handOff(fast);
    if (due < Infinity) courier.wakeAt(due);
  }
}

/** An outbox bound to one transaction: `ctx.outbox` in a handler (correlation and causation follow the incoming message). */
export interface BoundOutbox {
  add<C extends MessageContract>(
    contract: C,
    payload: PayloadInput<C>,
    options: Omit<OutboxAddOptions, 'cause'>,
  ): Promise<Envelope<PayloadOf<C>>>;
  withdrawScheduled(key: string): void;
}

export function bindOutbox(outbox: Outbox, tx: Tx, cause?: Envelope): BoundOutbox {
  return {
    add: (contract, payload, options) => outbox.add(tx, contract, payload, cause ? { ...options, cause } : options),
    withdrawScheduled: (key) => outbox.withdrawScheduled(tx, key),
  };
}
