import { Inject } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MessageCatalog } from './catalog';
import { type MessageContract, type PayloadInput, type PayloadOf, parsePayload } from './contract';
import { type Envelope, type EnvelopeOptions, createEnvelope } from './envelope';
import { OutboxRequiresTransactionError } from './errors';
import { returnedRows } from '../idempotency/idempotency';

export type OutboxAddOptions = EnvelopeOptions;

const MODULE_NAME = /^[a-z][a-z0-9_]{0,40}$/;

export function assertModuleName(module: string): void {
  if (!MODULE_NAME.test(module)) throw new Error(`Module name '${module}' must match ${MODULE_NAME} (it is also a schema name).`);
}

/** The LISTEN/NOTIFY channel that wakes a module's relay. */
export function outboxChannel(module: string): string {
  return `outbox_${module}`;
}

/** Injection token of a module's Outbox. */
export function outboxToken(module: string): string {
  return `Outbox:${module}`;
}

/** `constructor(@InjectOutbox('billing') outbox: Outbox)`; provided by MessagingModule.forModule('billing'). */
export const InjectOutbox = (module: string) => Inject(outboxToken(module));

/**
 * A module's outbox: messages written in the same transaction as the business change, delivered by the
 * module's relay after commit. Nothing is sent if the transaction rolls back.
 */
export class Outbox {
  private readonly insertSql: string;

  constructor(
    readonly module: string,
    private readonly catalog?: MessageCatalog,
  ) {
    assertModuleName(module);
    // The per-key transaction lock serialises producers of one key, so seq order is commit order within a
    // key (the relay's ordering rests on it). Transactions that publish for several keys should take them in
    // a consistent order, or PostgreSQL may abort one as a deadlock (it is then safe to retry).
    // NOTIFY is delivered only at commit (and once per transaction): exactly "wake the relay after commit".
    this.insertSql = `WITH key_lock AS (SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2)))
      INSERT INTO "${module}".outbox (message_id, type, key, envelope, not_before, available_at, status)
      SELECT $3, $4, $2, $5::jsonb, $6::timestamptz, coalesce($6::timestamptz, now()),
             CASE WHEN $6::timestamptz > now() THEN 'scheduled' ELSE 'pending' END FROM key_lock
      RETURNING seq, pg_notify('${outboxChannel(module)}', '')`;
  }

  /**
   * Validates the payload against the contract and writes the message in `em`'s transaction.
   * @throws OutboxRequiresTransactionError when `em` is not inside an active transaction
   * @throws InvalidMessageError when the payload does not match the contract (nothing is written)
   */
  async add<C extends MessageContract>(
    em: EntityManager,
    contract: C,
    payload: PayloadInput<C>,
    options: OutboxAddOptions,
  ): Promise<Envelope<PayloadOf<C>>> {
    if (!em.queryRunner?.isTransactionActive) throw new OutboxRequiresTransactionError(this.module, `add(${contract.type})`);
    if (this.catalog && !this.catalog.allows(this.module, contract.type)) {
      throw new Error(
        `The '${this.module}' module publishes ${contract.type} without declaring it. Add it to MessagingModule.forModule('${this.module}', { publishes: [...] }).`,
      );
    }
    const schema = (em.connection.options as { schema?: string }).schema;
    if (schema && schema !== this.module) {
      throw new Error(
        `The '${this.module}' outbox got an EntityManager of the '${schema}' DataSource. Publish from the module's own transaction, with its own outbox.`,
      );
    }
    if (typeof options?.key !== 'string' || options.key === '') {
      throw new Error(`outbox.add(${contract.type}) needs options.key: the aggregate id that orders this message (e.g. the order id).`);
    }
    const parsed = parsePayload(contract, payload, 'publish');
    const envelope = createEnvelope(this.module, contract.type, parsed, options);
    await em.query(this.insertSql, [
      `outbox:${this.module}`,
      envelope.key,
      envelope.id,
      envelope.type,
      JSON.stringify(envelope),
      options.notBefore ?? null,
    ]);
    return envelope;
  }

  /**
   * Withdraws the messages of `key` that wait for their notBefore (a timer the caller no longer needs, e.g. the
   * deadline of a saga step that just ended), in `em`'s transaction. One that is already due is left alone: it
   * goes out and its consumer must ignore it. Returns how many were withdrawn.
   * @throws OutboxRequiresTransactionError when `em` is not inside an active transaction
   */
  async withdrawScheduled(em: EntityManager, key: string): Promise<number> {
    if (!em.queryRunner?.isTransactionActive) throw new OutboxRequiresTransactionError(this.module, `withdrawScheduled(${key})`);
    const result: unknown = await em.query(
      `DELETE FROM "${this.module}".outbox WHERE key = $1 AND status = 'scheduled' AND available_at > now() RETURNING seq`,
      [key],
    );
    return returnedRows(result).length;
  }
}

/** An outbox bound to one transaction: `ctx.outbox` in a handler (correlation and causation follow the incoming message). */
export interface BoundOutbox {
  add<C extends MessageContract>(
    contract: C,
    payload: PayloadInput<C>,
    options: Omit<OutboxAddOptions, 'cause'>,
  ): Promise<Envelope<PayloadOf<C>>>;
  withdrawScheduled(key: string): Promise<number>;
}

export function bindOutbox(outbox: Outbox, em: EntityManager, cause?: Envelope): BoundOutbox {
  return {
    add: (contract, payload, options) => outbox.add(em, contract, payload, cause ? { ...options, cause } : options),
    withdrawScheduled: (key) => outbox.withdrawScheduled(em, key),
  };
}
