import type { MigrationInterface, QueryRunner } from 'typeorm';
import { grantToRuntime } from '../../database/module-database';

/**
 * The migrations that create `outbox` and `inbox` in a module's schema. Every module that publishes or
 * handles messages adds them to its migration list:
 *   DatabaseModule.forModule({ name: 'billing', entities, migrations: [...messagingMigrations(1767225600000), ...own] })
 * The timestamp orders them among the module's own migrations; pick it once and never change it.
 */
export function messagingMigrations(timestamp: number): (new () => MigrationInterface)[] {
  // TypeORM reads the last 13 characters of a migration's name as its JavaScript timestamp.
  if (!Number.isInteger(timestamp) || String(timestamp).length !== 13) {
    throw new Error(
      `messagingMigrations(${timestamp}): pass a 13-digit JavaScript timestamp (Date.now() when you add them), e.g. 1767225600000.`,
    );
  }
  return [outboxMigration(timestamp), inboxMigration(timestamp + 1), scheduledMigration(timestamp + 2), leanOutboxMigration(timestamp + 3)];
}

function outboxMigration(timestamp: number): new () => MigrationInterface {
  return class MessagingOutbox implements MigrationInterface {
    name = `MessagingOutbox${timestamp}`;
    async up(q: QueryRunner): Promise<void> {
      // One row per send. message_id is not unique: a saga deadline may re-send a command with the same id,
      // which consumers then skip through their inbox. seq (insert order = commit order per key) orders a key.
      await q.query(`CREATE TABLE outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id uuid NOT NULL,
        type text NOT NULL,
        key text NOT NULL,
        envelope jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        not_before timestamptz,
        available_at timestamptz NOT NULL DEFAULT now(),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dispatched', 'dead')),
        attempts int NOT NULL DEFAULT 0,
        last_error text,
        errors jsonb NOT NULL DEFAULT '[]',
        lease_owner uuid,
        lease_until timestamptz,
        dispatched_at timestamptz,
        dead_at timestamptz)
        -- A queue table: room on each page keeps lease updates HOT (no index churn), and vacuum comes early.
        WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02)`);
      await q.query(`CREATE INDEX outbox_pending ON outbox (seq) WHERE status = 'pending'`);
      await q.query(`CREATE INDEX outbox_pending_key ON outbox (key, seq) WHERE status = 'pending'`);
      await q.query(`CREATE INDEX outbox_dispatched ON outbox (dispatched_at) WHERE status = 'dispatched'`);
      await q.query(`CREATE INDEX outbox_dead ON outbox (dead_at DESC, seq DESC) WHERE status = 'dead'`);
      await q.query(`CREATE INDEX outbox_message_id ON outbox (message_id)`);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE outbox`);
    }
  };
}

function inboxMigration(timestamp: number): new () => MigrationInterface {
  return class MessagingInbox implements MigrationInterface {
    name = `MessagingInbox${timestamp}`;
    async up(q: QueryRunner): Promise<void> {
      // One row per (handler, message) applied; the primary key makes a concurrent duplicate wait, then skip.
      await q.query(`CREATE TABLE inbox (
        consumer text NOT NULL,
        message_id uuid NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id))`);
      await q.query(`CREATE INDEX inbox_processed_at ON inbox (processed_at)`);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE inbox`);
    }
  };
}

function scheduledMigration(timestamp: number): new () => MigrationInterface {
  return class MessagingOutboxScheduled implements MigrationInterface {
    name = `MessagingOutboxScheduled${timestamp}`;
    async up(q: QueryRunner): Promise<void> {
      // A delayed message (notBefore in the future, e.g. a saga deadline) waits as 'scheduled' until it is due,
      // outside outbox_pending: the relay's claim walks that index in seq order, and thousands of waiting
      // timers at its head made every claim slower as the rate grew. The relay moves due rows to 'pending'.
      await q.query(`ALTER TABLE outbox DROP CONSTRAINT outbox_status_check`);
      await q.query(
        `ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('scheduled', 'pending', 'dispatched', 'dead'))`,
      );
      await q.query(`CREATE INDEX outbox_scheduled ON outbox (available_at) WHERE status = 'scheduled'`);
      await q.query(`CREATE INDEX outbox_scheduled_key ON outbox (key) WHERE status = 'scheduled'`); // Outbox.withdrawScheduled
      await q.query(`UPDATE outbox SET status = 'scheduled' WHERE status = 'pending' AND not_before > now() AND attempts = 0`);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`UPDATE outbox SET status = 'pending' WHERE status = 'scheduled'`);
      await q.query(`DROP INDEX outbox_scheduled, outbox_scheduled_key`);
      await q.query(`ALTER TABLE outbox DROP CONSTRAINT outbox_status_check`);
      await q.query(`ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'dispatched', 'dead'))`);
    }
  };
}

function leanOutboxMigration(timestamp: number): new () => MigrationInterface {
  return class MessagingOutboxLean implements MigrationInterface {
    name = `MessagingOutboxLean${timestamp}`;
    async up(q: QueryRunner): Promise<void> {
      // Delivered messages are deleted instead of kept as 'dispatched': the consumers' inboxes are the record.
      await q.query(`DELETE FROM outbox WHERE status = 'dispatched'`);
      await q.query(`ALTER TABLE outbox DROP CONSTRAINT outbox_status_check`);
      await q.query(`ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('scheduled', 'pending', 'dead'))`);
      // claims: claims since the last recorded outcome (a failure, a postponement), the lease taken at insert included:
      // two of them mean a process died with the message in hand. solo_runs: deliveries it then had alone. starts_after/delay_ms: a timer that starts when another message of the outbox is handed over.
      await q.query(`ALTER TABLE outbox ADD COLUMN claims int NOT NULL DEFAULT 0, ADD COLUMN solo_runs int NOT NULL DEFAULT 0,
        ADD COLUMN starts_after uuid, ADD COLUMN delay_ms int CHECK (delay_ms >= 0)`);
      await q.query(`DROP INDEX outbox_dispatched, outbox_message_id`);
      await q.query(`CREATE INDEX outbox_dead_message ON outbox (message_id) WHERE status = 'dead'`);
      await q.query(`CREATE INDEX outbox_timers ON outbox (starts_after) WHERE status = 'scheduled' AND starts_after IS NOT NULL`);
      // The running app: its relay inserts, leases, deletes and dead-letters; its consumers write the inbox.
      await grantToRuntime(q, 'SELECT, INSERT, UPDATE, DELETE', 'outbox');
      await grantToRuntime(q, 'SELECT, INSERT, DELETE', 'inbox');
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP INDEX outbox_dead_message, outbox_timers`);
      await q.query(`CREATE INDEX outbox_dispatched ON outbox (dispatched_at) WHERE status = 'dispatched'`);
      await q.query(`CREATE INDEX outbox_message_id ON outbox (message_id)`);
      await q.query(`ALTER TABLE outbox DROP COLUMN claims, DROP COLUMN solo_runs, DROP COLUMN starts_after, DROP COLUMN delay_ms`);
      await q.query(`ALTER TABLE outbox DROP CONSTRAINT outbox_status_check`);
      await q.query(
        `ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('scheduled', 'pending', 'dispatched', 'dead'))`,
      );
    }
  };
}
