import { grantToRuntime } from '@app/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What inventory's running code may do to its tables: nothing is ever deleted. */
export class GrantInventoryRuntime1732600000020 implements MigrationInterface {
  name = 'GrantInventoryRuntime1732600000020';

  async up(q: QueryRunner): Promise<void> {
    await grantToRuntime(q, 'SELECT, INSERT, UPDATE', 'items', 'reservations');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DO $$ BEGIN EXECUTE format('REVOKE ALL ON items, reservations FROM %I', current_setting('monolith_first.runtime_role')); END $$`,
    );
  }
}
