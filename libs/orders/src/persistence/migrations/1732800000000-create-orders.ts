import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrders1732800000000 implements MigrationInterface {
  name = 'CreateOrders1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE orders (
      id uuid PRIMARY KEY,
      customer_id text NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
      status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
      reason text CHECK (reason IN ('OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMED_OUT', 'CUSTOMER_REQUEST')),
      total_cents bigint CONSTRAINT orders_total_not_negative CHECK (total_cents >= 0),
      lines jsonb NOT NULL CHECK (jsonb_typeof(lines) = 'array' AND jsonb_array_length(lines) > 0),
      saga jsonb NOT NULL,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT orders_reason_iff_cancelled CHECK ((status = 'CANCELLED') = (reason IS NOT NULL)))`);
    await q.query(`CREATE INDEX orders_customer_idx ON orders (customer_id, created_at)`);
    await q.query(`CREATE TABLE order_history (
      order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
      seq integer NOT NULL CHECK (seq > 0),
      at timestamptz NOT NULL,
      event text NOT NULL,
      detail text NOT NULL,
      PRIMARY KEY (order_id, seq))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE order_history`);
    await q.query(`DROP TABLE orders`);
  }
}
