import { createHash } from 'node:crypto';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { z } from 'zod';
import { grantToRuntime } from '../database/module-database';
import { type ModuleDb, type Tx, statement } from '../database/module-db';
import { Problem } from '../http/problem';

/**
 * Idempotency-Key handling with the semantics of the IETF httpapi idempotency-key draft:
 * - the first request with a key runs and its response is stored with the key, in the same transaction as its effects;
 * - a repeat with the same key and the same request gets the stored response, and nothing runs again;
 * - the same key with a different request is refused with 422;
 * - a repeat while the first is still running waits for it (up to the lock timeout) and then gets its response, or
 *   409 (retry later) if it is still running after that.
 * The key is claimed inside the work's transaction: a crash before the commit leaves nothing behind, so a retry runs
 * at once. Keys live in the owning module's schema (table `idempotency_keys`), scoped by operation and, when the
 * caller is authenticated, by principal, and are forgotten after their retention (24 h by default).
 */

/** Header value: 1–255 visible ASCII characters; a structured-field string's quotes are removed. */
export const IdempotencyKeySchema = z
  .string({ error: 'the Idempotency-Key header is required: send a unique value (e.g. a UUID) per logical request' })
  .transform((v) => v.trim().replace(/^"(.*)"$/, '$1'))
  .pipe(
    z
      .string()
      .min(1, 'the Idempotency-Key header must not be empty')
      .max(255, 'the Idempotency-Key header must be at most 255 characters')
      .regex(/^[\x21-\x7e]+$/, 'the Idempotency-Key header must be visible ASCII characters'),
  );

export interface IdempotentRequest {
  /** Operation name, e.g. `billing.deposit`. Keys are unique per scope and principal. */
  scope: string;
  key: string;
  /** Anything that identifies the request's meaning (path params and body). */
  request: unknown;
  /** The authenticated caller's stable id: one client's key never collides with another's. */
  principal?: string;
}

export interface StoredResponse<B = unknown> {
  status: number;
  body: B;
}

export interface IdempotencyOptions {
  /** How long a repeat waits for the first request to finish before it gets 409 (ms). */
  lockTimeoutMs?: number;
  /** How long the response is kept for repeats (ms). */
  retentionMs?: number;
}

export const DEFAULT_IDEMPOTENCY: Required<IdempotencyOptions> = { lockTimeoutMs: 5_000, retentionMs: 24 * 60 * 60_000 };

const CLAIM = statement(`INSERT INTO idempotency_keys (scope, principal, key, fingerprint, expires_at)
  VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')`);
const STORE = statement(`UPDATE idempotency_keys SET response_status = $4, response_body = $5, completed_at = now()
  WHERE scope = $1 AND principal = $2 AND key = $3`);
const STORED = statement(`SELECT fingerprint, response_status, response_body, expires_at < now() AS expired
  FROM idempotency_keys WHERE scope = $1 AND principal = $2 AND key = $3`);
const FORGET = statement(`DELETE FROM idempotency_keys WHERE scope = $1 AND principal = $2 AND key = $3 AND expires_at < now()`);

/**
 * Runs `work` once per (scope, principal, key) in one transaction of `db`, together with the key's claim and its
 * stored response. Happy path: one transaction, the claim pipelined ahead of the work.
 */
export async function runIdempotent<B>(
  db: ModuleDb,
  req: IdempotentRequest,
  work: (tx: Tx) => Promise<StoredResponse<B>>,
  options: IdempotencyOptions = {},
): Promise<StoredResponse<B>> {
  const { lockTimeoutMs, retentionMs } = { ...DEFAULT_IDEMPOTENCY, ...options };
  const fingerprint = fingerprintOf(req.request);
  const id = [req.scope, req.principal ?? '', req.key];
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(
        async (tx) => {
          tx.execute(CLAIM, [...id, fingerprint, retentionMs]);
          const response = await work(tx);
          tx.execute(STORE, [...id, response.status, JSON.stringify(response.body ?? null)]);
          return response;
        },
        { lockTimeoutMs },
      );
    } catch (error) {
      const code = (error as { code?: string; constraint?: string }).code;
      if (code === '55P03') throw inFlight(req.key); // the first is still running after the lock timeout
      if (code !== '23505' || (error as { constraint?: string }).constraint !== 'idempotency_keys_pkey') throw error;
    }
    // The key was there, or arrived while we waited: answer from it.
    const [row] = await db.query<{ fingerprint: string; response_status: number | null; response_body: B; expired: boolean }>(STORED, id);
    if (row?.expired && attempt === 1) {
      await db.query(FORGET, id); // past its retention: a new request
      continue;
    }
    if (!row) {
      if (attempt < 3) continue; // the first one rolled back just now: run this one
      throw inFlight(req.key);
    }
    if (row.fingerprint !== fingerprint) {
      throw Problem.unprocessable(
        'idempotency-key-reused',
        `The Idempotency-Key '${req.key}' was already used for a different request. Use a new key for a new request.`,
      );
    }
    if (row.response_status === null) throw inFlight(req.key);
    return { status: row.response_status, body: row.response_body };
  }
}

function inFlight(key: string): Problem {
  return Problem.conflict(
    'idempotency-key-in-flight',
    `A request with Idempotency-Key '${key}' is still being processed. Retry in a moment to get its result.`,
  );
}

export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Deletes keys past their retention, in batches; returns how many. */
export async function pruneIdempotencyKeys(db: ModuleDb, batch = 1_000): Promise<number> {
  let total = 0;
  for (;;) {
    const [{ n }] = await db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM "${db.module}".idempotency_keys WHERE ctid IN (
         SELECT ctid FROM "${db.module}".idempotency_keys WHERE expires_at < now() LIMIT $1) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [batch],
    );
    total += n;
    if (n < batch) return total;
  }
}

/** The migrations of `idempotency_keys` in a module's schema. Add them to the module's migrations. */
export function idempotencyKeysMigrations(timestamp: number): (new () => MigrationInterface)[] {
  return [idempotencyKeysMigration(timestamp), scopedIdempotencyKeysMigration(timestamp + 1)];
}

/** The first version of `idempotency_keys` (kept: deployments have applied it under this name). */
export function idempotencyKeysMigration(timestamp: number): new () => MigrationInterface {
  return class IdempotencyKeys implements MigrationInterface {
    name = `IdempotencyKeys${timestamp}`;
    async up(q: QueryRunner): Promise<void> {
      await q.query(`CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        claim uuid NOT NULL,
        claimed_until timestamptz NOT NULL,
        response_status int,
        response_body jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        PRIMARY KEY (scope, key))`);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE idempotency_keys`);
    }
  };
}

function scopedIdempotencyKeysMigration(timestamp: number): new () => MigrationInterface {
  return class IdempotencyKeysScoped implements MigrationInterface {
    name = `IdempotencyKeysScoped${timestamp}`;
    async up(q: QueryRunner): Promise<void> {
      // Claimed in the work's transaction now: no claim token, no claim lease. Scoped by principal; kept until expires_at.
      await q.query(`DELETE FROM idempotency_keys WHERE response_status IS NULL`);
      await q.query(`ALTER TABLE idempotency_keys DROP COLUMN claim, DROP COLUMN claimed_until,
        ADD COLUMN principal text NOT NULL DEFAULT '', ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '24 hours'`);
      await q.query(`ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (scope, principal, key)`);
      await q.query(`CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)`);
      await grantToRuntime(q, 'SELECT, INSERT, UPDATE, DELETE', 'idempotency_keys');
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP INDEX idempotency_keys_expiry`);
      await q.query(`ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (scope, key)`);
      await q.query(`ALTER TABLE idempotency_keys DROP COLUMN principal, DROP COLUMN expires_at,
        ADD COLUMN claim uuid NOT NULL DEFAULT gen_random_uuid(), ADD COLUMN claimed_until timestamptz NOT NULL DEFAULT now()`);
    }
  };
}
