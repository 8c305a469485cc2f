import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { CancelReason, OrderLine, OrderStatus, SagaState } from '../domain/order';

/** bigint comes back from pg as a string; totals stay far below 2^53, so a number is exact. */
const nullableBigint = {
  to: (value: number | null) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * One row per order. The saga's bookkeeping is a jsonb document beside the columns support and reports
 * query (status, reason, total). Saga steps lock the row (SELECT ... FOR UPDATE), so replies about one order
 * apply one at a time; `version` counts the changes (an ETag later, and a cheap "did it change" for support).
 */
@Entity({ name: 'orders' })
export class OrderRecord {
  @PrimaryColumn('uuid') id!: string;
  @Column('text', { name: 'customer_id' }) customerId!: string;
  @Column('text') status!: OrderStatus;
  @Column('text', { nullable: true }) reason!: CancelReason | null;
  @Column('bigint', { name: 'total_cents', nullable: true, transformer: nullableBigint }) totalCents!: number | null;
  @Column('jsonb') lines!: OrderLine[];
  @Column('jsonb') saga!: SagaState;
  @Column('integer') version!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
