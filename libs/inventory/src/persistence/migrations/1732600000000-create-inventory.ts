import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateInventory1732600000000 implements MigrationInterface {
  name = 'CreateInventory1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE items (
      sku text PRIMARY KEY,
      name text NOT NULL,
      price_cents integer NOT NULL CONSTRAINT items_price_not_negative CHECK (price_cents >= 0),
      available integer NOT NULL CONSTRAINT items_available_not_negative CHECK (available >= 0),
      reserved integer NOT NULL CONSTRAINT items_reserved_not_negative CHECK (reserved >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE reservations (
      order_id uuid PRIMARY KEY,
      status text NOT NULL CHECK (status IN ('RESERVED', 'RELEASED', 'COMMITTED', 'RETURNED')),
      lines jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reservations`);
    await q.query(`DROP TABLE items`);
  }
}
