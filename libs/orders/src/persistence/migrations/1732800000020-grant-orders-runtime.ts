import { grantToRuntime } from '@app/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What orders' running code may do to its tables: orders change state, their history only grows. */
export class GrantOrdersRuntime1732800000020 implements MigrationInterface {
  name = 'GrantOrdersRuntime1732800000020';

  async up(q: QueryRunner): Promise<void> {
    await grantToRuntime(q, 'SELECT, INSERT, UPDATE', 'orders');
    await grantToRuntime(q, 'SELECT, INSERT', 'order_history');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DO $$ BEGIN EXECUTE format('REVOKE ALL ON orders, order_history FROM %I', current_setting('monolith_first.runtime_role')); END $$`,
    );
  }
}
