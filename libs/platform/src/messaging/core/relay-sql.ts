import { type Statement, customPlanned } from '../../database/module-db';
import { OWNER_LOCK_SPACE } from './presence';

export interface RelayStatements {
  done: Statement;
  deleteDelivered: Statement;
  claim: Statement;
  breakDeadLeases: Statement;
  retry: Statement;
  deadLetter: Statement;
  postpone: Statement;
  release: Statement;
  releaseStarted: Statement;
  releaseAll: Statement;
  renew: Statement;
  soloStart: Statement;
  pruneInbox: Statement;
}

/** The relay's statements on one module's outbox; every write is fenced by `lease_owner = <this relay>`. */
// Planned afresh on every run (customPlanned): the outbox swings between empty and thousands of rows.
export function relayStatements(module: string): RelayStatements {
  const table = `"${module}".outbox`;
  const fenced = `seq = $1 AND lease_owner = $2 AND status = 'pending'`;
  const appendError = `last_error = $4,
    errors = (CASE WHEN jsonb_array_length(errors) >= 50 THEN errors - 0 ELSE errors END) || $5::jsonb, lease_owner = NULL, lease_until = NULL`;
  // Timers waiting for a message (starts_after) start once it is handed over, or dead.
  const startTimers = (resolved: string) => `started AS (
        UPDATE ${table} t SET available_at = now() + t.delay_ms * interval '1 millisecond'
         WHERE t.status = 'scheduled' AND t.available_at = 'infinity' AND t.starts_after IN (SELECT message_id FROM ${resolved})
        RETURNING t.available_at)`;
  return {
    // Delivered: deleted (the consumers' inboxes are the record). successor: a message of the same key waits unleased
    // (it came in behind one of these while it was in flight), so the relay claims again at once.
    done: customPlanned(`WITH gone AS (DELETE FROM ${table} WHERE seq = ANY ($1::bigint[]) AND lease_owner = $2 RETURNING message_id, key),
      ${startTimers('gone')}
      SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT min(available_at) FROM started) AS next_timer,
             EXISTS (SELECT 1 FROM ${table} p WHERE p.status = 'pending' AND p.lease_owner IS NULL AND p.key IN (SELECT key FROM gone)) AS successor`),
    // The same, for messages no timer waits for: it rides along with a transaction of the module (see ModuleDb.rideAlong).
    deleteDelivered: customPlanned(`DELETE FROM ${table} WHERE seq = ANY ($1::bigint[]) AND lease_owner = $2`),
    // candidates: due, unleased (or lease run out) rows with no earlier same-key row that waits (retry backoff) or is
    //   leased by anyone; SKIP LOCKED lets relays claim side by side.
    // claimable: drop a candidate if an earlier same-key row is pending but not locked by this statement (another
    //   relay is claiming it right now): a key's run is never split or reordered.
    // OFFSET 0 keeps each NOT EXISTS a per-row probe of outbox_pending_key.
    // promoted: scheduled messages that fell due become pending; the next statement can claim them.
    claim: customPlanned(`WITH candidates AS MATERIALIZED (
        SELECT o.seq, o.key FROM ${table} o
         WHERE o.status = 'pending' AND o.available_at <= now() AND (o.lease_until IS NULL OR o.lease_until < now())
           AND NOT EXISTS (SELECT 1 FROM ${table} p
                 WHERE p.status = 'pending' AND p.key = o.key AND p.seq < o.seq
                   AND (p.available_at > now() OR p.lease_until >= now())
                 OFFSET 0)
         ORDER BY o.seq
         LIMIT $2
         FOR UPDATE OF o SKIP LOCKED
      ), claimable AS (
        SELECT c.seq FROM candidates c
         WHERE NOT EXISTS (SELECT 1 FROM ${table} p
                 WHERE p.status = 'pending' AND p.key = c.key AND p.seq < c.seq AND p.seq NOT IN (SELECT seq FROM candidates)
                 OFFSET 0)
      ), claimed AS (
        UPDATE ${table} o SET lease_owner = $1, lease_until = now() + $3 * interval '1 millisecond', claims = o.claims + 1
         WHERE o.seq = ANY (ARRAY(SELECT seq FROM claimable))
        RETURNING o.seq::text, o.key, o.attempts, o.claims, o.solo_runs, o.envelope
      ), promoted AS (
        UPDATE ${table} o SET status = 'pending'
         WHERE o.seq = ANY (ARRAY(SELECT seq FROM ${table} WHERE status = 'scheduled' AND available_at <= now()
                                   ORDER BY available_at LIMIT $2 FOR UPDATE SKIP LOCKED))
        RETURNING o.seq
      )
      SELECT c.*, (SELECT count(*) FROM promoted)::int AS promoted,
             (SELECT min(available_at) FROM ${table} WHERE status = 'scheduled' AND available_at > now()) AS next_timer
        FROM (SELECT NULL) one LEFT JOIN claimed c ON true`),
    // Leases of relays whose presence lock is free (their process is gone) end now, instead of when they run out.
    breakDeadLeases: customPlanned(`WITH owners AS (
        SELECT DISTINCT lease_owner AS owner FROM ${table}
         WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_owner <> $1 AND lease_until >= now()
      ), dead AS (
        SELECT owner FROM owners
         WHERE CASE WHEN pg_try_advisory_lock(${OWNER_LOCK_SPACE}, hashtext(owner::text))
                    THEN pg_advisory_unlock(${OWNER_LOCK_SPACE}, hashtext(owner::text)) ELSE false END
      )
      UPDATE ${table} SET lease_owner = NULL, lease_until = NULL
       WHERE status = 'pending' AND lease_owner IN (SELECT owner FROM dead) RETURNING seq`),
    // A recorded outcome: the claims without one start again from zero.
    retry:
      customPlanned(`UPDATE ${table} SET attempts = $3, claims = 0, solo_runs = 0, available_at = now() + $6 * interval '1 millisecond', ${appendError}
      WHERE ${fenced} RETURNING seq`),
    deadLetter: customPlanned(`WITH dead AS (
        UPDATE ${table} SET status = 'dead', dead_at = now(), attempts = $3, ${appendError} WHERE ${fenced} RETURNING message_id
      ), ${startTimers('dead')}
      SELECT (SELECT count(*) FROM dead)::int AS n, (SELECT min(available_at) FROM started) AS next_timer`),
    // The transport or the database was unavailable: back in line after $3 ms with the error noted, attempts unchanged.
    postpone:
      customPlanned(`UPDATE ${table} SET available_at = now() + $3 * interval '1 millisecond', claims = 0, solo_runs = 0, last_error = $4,
        errors = (CASE WHEN jsonb_array_length(errors) >= 50 THEN errors - 0 ELSE errors END) || $5::jsonb, lease_owner = NULL, lease_until = NULL
      WHERE seq = ANY ($1::bigint[]) AND lease_owner = $2 AND status = 'pending'`),
    // Released without having been delivered (behind a failed message, or on shutdown): the claim did not count.
    release: customPlanned(`UPDATE ${table} SET lease_owner = NULL, lease_until = NULL, claims = greatest(claims - 1, 0)
      WHERE seq = ANY ($1::bigint[]) AND lease_owner = $2 AND status = 'pending'`),
    releaseStarted: customPlanned(`UPDATE ${table} SET lease_owner = NULL, lease_until = NULL
      WHERE seq = ANY ($1::bigint[]) AND lease_owner = $2 AND status = 'pending'`),
    // On shutdown every delivery has finished and been recorded: what is still leased was never started.
    releaseAll: customPlanned(`UPDATE ${table} SET lease_owner = NULL, lease_until = NULL, claims = greatest(claims - 1, 0)
      WHERE lease_owner = $1 AND status = 'pending'`),
    renew: customPlanned(`UPDATE ${table} SET lease_until = now() + $3 * interval '1 millisecond'
      WHERE seq = ANY ($1::bigint[]) AND lease_owner = $2 AND status = 'pending' RETURNING seq::text`),
    soloStart: customPlanned(`UPDATE ${table} SET solo_runs = solo_runs + 1 WHERE ${fenced} RETURNING seq`),
    pruneInbox: customPlanned(`WITH gone AS (DELETE FROM "${module}".inbox WHERE (consumer, message_id) IN (
        SELECT consumer, message_id FROM "${module}".inbox WHERE processed_at < now() - $1 * interval '1 millisecond' LIMIT $2) RETURNING 1)
      SELECT count(*)::int AS n FROM gone`),
  };
}
