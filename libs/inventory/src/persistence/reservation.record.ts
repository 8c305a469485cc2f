import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ReservationStatus, ReservedLine } from '../domain/stock';

/** One reservation per order: the order id makes reserve/release/commit idempotent. */
@Entity({ name: 'reservations' })
export class ReservationRecord {
  @PrimaryColumn('uuid', { name: 'order_id' }) orderId!: string;
  @Column('text') status!: ReservationStatus;
  @Column('jsonb') lines!: ReservedLine[];
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
