import { createHash, randomUUID } from 'node:crypto';
import type { DataSource, EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import { z } from 'zod';
import { Problem } from '../http/problem';

/**
 * Idempotency-Key handling with the semantics of the IETF httpapi idempotency-key draft:
 * - the first request with a key runs and its response is stored with the key, in the same transaction as its effects;
 * - a repeat with the same key and the same request gets the stored response, and nothing runs again;
 * - the same key with a different request is refused with 422;
 * - a repeat while the first is still running is refused with 409 (retry later).
 * Keys live in the owning module's schema (table `idempotency_keys`), so modules stay data-independent.
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
  /** Operation name, e.g. `billing.deposit`. Keys are unique per scope. */
  scope: string;
  key: string;
  /** Anything that identifies the request's meaning (path params and body). */
  request: unknown;
}

export interface StoredResponse<B = unknown> {
  status: number;
  body: B;
}

/** How long a first request may run before a repeat may take over (a crashed process leaves its claim behind). */
const CLAIM_LEASE_MS = 30_000;

export async function runIdempotent<B>(
  dataSource: DataSource,
  req: IdempotentRequest,
  work: (em: EntityManager) => Promise<StoredResponse<B>>,
): Promise<StoredResponse<B>> {
  const fingerprint = fingerprintOf(req.request);
  const claim = randomUUID();
  const claimed: { claim: string }[] = await dataSource.query(
    `INSERT INTO idempotency_keys (scope, key, fingerprint, claim, claimed_until)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
     ON CONFLICT (scope, key) DO UPDATE SET claim = EXCLUDED.claim, claimed_until = EXCLUDED.claimed_until
       WHERE idempotency_keys.response_status IS NULL AND idempotency_keys.claimed_until < now()
         AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
     RETURNING claim`,
    [req.scope, req.key, fingerprint, claim, CLAIM_LEASE_MS / 1000],
  );
  if (claimed.length === 0) return replayOrRefuse<B>(dataSource, req, fingerprint);

  try {
    return await dataSource.transaction(async (em) => {
      const response = await work(em);
      const stored: unknown = await em.query(
        `UPDATE idempotency_keys SET response_status = $4, response_body = $5, completed_at = now()
          WHERE scope = $1 AND key = $2 AND claim = $3 AND response_status IS NULL RETURNING 1`,
        [req.scope, req.key, claim, response.status, JSON.stringify(response.body ?? null)],
      );
      // Our lease ran out and a repeat took over: roll back our effects and let the repeat's stand.
      if (returnedRows(stored).length === 0) throw inFlight(req.key);
      return response;
    });
  } catch (error) {
    // Nothing was applied: free the key so that a retry of the same request can run.
    await dataSource.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND claim = $3 AND response_status IS NULL`, [
      req.scope,
      req.key,
      claim,
    ]);
    throw error;
  }
}

async function replayOrRefuse<B>(dataSource: DataSource, req: IdempotentRequest, fingerprint: string): Promise<StoredResponse<B>> {
  const rows: { fingerprint: string; response_status: number | null; response_body: B }[] = await dataSource.query(
    `SELECT fingerprint, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2`,
    [req.scope, req.key],
  );
  const row = rows[0];
  if (!row) throw inFlight(req.key); // it was just released by a failed first attempt; retrying will run it
  if (row.fingerprint !== fingerprint) {
    throw Problem.unprocessable(
      'idempotency-key-reused',
      `The Idempotency-Key '${req.key}' was already used for a different request. Use a new key for a new request.`,
    );
  }
  if (row.response_status === null) throw inFlight(req.key);
  return { status: row.response_status, body: row.response_body };
}

function inFlight(key: string): Problem {
  return Problem.conflict(
    'idempotency-key-in-flight',
    `A request with Idempotency-Key '${key}' is still being processed. Retry in a moment to get its result.`,
  );
}

/** TypeORM's postgres driver returns `[rows, count]` for UPDATE/DELETE and plain rows otherwise. */
export function returnedRows<T = unknown>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
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

/** The migration that creates `idempotency_keys` in a module's schema. Add it to the module's migrations. */
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
