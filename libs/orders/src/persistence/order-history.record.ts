import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * An order's history, one row per entry, append-only: a saga step inserts only its new entries instead of
 * rewriting an ever-growing document in the order row, and the order row stays small for the FOR UPDATE
 * reads every reply does. `seq` numbers the entries of one order from 1.
 */
@Entity({ name: 'order_history' })
export class OrderHistoryRecord {
  @PrimaryColumn('uuid', { name: 'order_id' }) orderId!: string;
  @PrimaryColumn('integer') seq!: number;
  @Column('timestamptz') at!: Date;
  @Column('text') event!: string;
  @Column('text') detail!: string;
}
