// What the messaging must leave behind once everything settled: outboxes drained, queues empty, no dead letter
// but the poison, and each consumer having applied the messages of a key in the order they were committed.
import { redisCommand } from '../../harness/infra.mjs';

/** The schemas holding an outbox, per database (the monolith's and, extracted, billing's own). */
export async function outboxSchemas(db) {
  const { rows } = await db.query(
    `SELECT n.nspname AS module FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = 'outbox' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return rows.map((r) => r.module);
}

async function eachOutbox(world, work) {
  const out = [];
  for (const db of world.databases) for (const module of await outboxSchemas(db)) out.push(...(await work(db, module)));
  return out;
}

/**
 * 'Drained', with saga deadlines that may be minutes long: nothing due is left undelivered. No pending row; no
 * scheduled row already overdue (its relay should have moved it); a scheduled row still in the future is a timer
 * and allowed (it fires later and, for a finished order, is ignored), counted in the facts.
 */
export async function undelivered(world, excluded) {
  return eachOutbox(world, async (db, module) => {
    const { rows } = await db.query(
      `SELECT message_id::text AS id, type, key, status, attempts, last_error,
              extract(epoch FROM available_at - now())::float8 AS due_in_s
         FROM "${module}".outbox WHERE status IN ('pending', 'scheduled')`,
    );
    return rows.filter((r) => !excluded.has(r.id)).map((r) => ({ module, ...r }));
  });
}

export async function deadLetters(world) {
  return eachOutbox(world, async (db, module) => {
    const { rows } = await db.query(
      `SELECT message_id::text AS id, type, key, attempts, last_error FROM "${module}".outbox WHERE status = 'dead'`,
    );
    return rows.map((r) => ({ module, ...r }));
  });
}

/** Jobs still waiting, running or delayed in the BullMQ queues of the extracted topology. */
export async function queuedJobs(world) {
  if (!world.redis) return [];
  const prefix = world.apps()[0].env.BULLMQ_PREFIX;
  const out = [];
  for (const queue of ['monolith', 'billing']) {
    for (const [state, command] of [
      ['wait', 'LLEN'],
      ['active', 'LLEN'],
      ['paused', 'LLEN'],
      ['delayed', 'ZCARD'],
      ['prioritized', 'ZCARD'],
    ]) {
      const n = Number(await redisCommand(world.redis.directUrl, [command, `${prefix}:${queue}:${state}`]));
      if (n > 0) out.push({ queue, state, n });
    }
  }
  return out;
}

/**
 * Per-key order: for every consumer, the messages one producer committed for one key (outbox seq, first send of
 * each message id, timers excluded: they are due by time, not by order) must have been applied in that order.
 * The inbox's processed_at is the consumer transaction's start; two applied in one transaction tie, which is fine.
 * Returns the pairs applied out of order.
 */
export async function orderingDefects(world) {
  const sent = new Map(); // message id → { producer, key, seq, type }
  const inboxes = [];
  for (const db of world.databases) {
    for (const module of await outboxSchemas(db)) {
      const { rows } = await db.query(
        `SELECT message_id::text AS id, min(seq)::bigint::text AS seq, min(type) AS type, min(key) AS key
           FROM "${module}".outbox
          WHERE not_before IS NULL AND envelope->>'source' = $1
          GROUP BY message_id`,
        [module],
      );
      for (const r of rows) sent.set(r.id, { producer: module, key: r.key, seq: BigInt(r.seq), type: r.type });
      const { rows: hasInbox } = await db.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`"${module}".inbox`]);
      if (!hasInbox[0].ok) continue;
      const { rows: applied } = await db.query(
        `SELECT consumer, message_id::text AS id, (extract(epoch FROM processed_at) * 1000000)::bigint::text AS at_us FROM "${module}".inbox`,
      );
      inboxes.push(...applied);
    }
  }
  const lanes = new Map(); // consumer|producer|key → applied messages
  for (const a of inboxes) {
    const s = sent.get(a.id);
    if (!s) continue;
    const lane = `${a.consumer}|${s.producer}|${s.key}`;
    if (!lanes.has(lane)) lanes.set(lane, []);
    lanes.get(lane).push({ ...s, id: a.id, at: BigInt(a.at_us), consumer: a.consumer });
  }
  const defects = [];
  for (const applied of lanes.values()) {
    applied.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
    let latest = null; // the highest seq applied so far
    for (const m of applied) {
      if (latest && m.seq < latest.seq && m.at > latest.at) {
        defects.push({ consumer: m.consumer, key: m.key, first: latest, then: m });
      }
      if (!latest || m.seq > latest.seq) latest = m;
    }
  }
  return defects;
}
