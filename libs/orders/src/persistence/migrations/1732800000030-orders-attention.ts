import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Orders parked for an operator's attention (saga.attention set), oldest first: GET /admin/orders/attention. */
export class OrdersAttention1732800000030 implements MigrationInterface {
  name = 'OrdersAttention1732800000030';

  async up(q: QueryRunner): Promise<void> {
    // partial: the index holds only the parked orders, a handful, whatever the size of the table
    await q.query(
      `CREATE INDEX orders_attention ON orders ((saga->'attention'->>'since'), id) WHERE jsonb_typeof(saga->'attention') = 'object'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX orders_attention`);
  }
}
