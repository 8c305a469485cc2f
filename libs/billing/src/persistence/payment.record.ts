import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintCents } from './cents';

/** CAPTURED → REFUNDED; DECLINED stays; VOIDED is the tombstone of a refund that came before any capture. */
export type PaymentStatus = 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';
export type DeclineReason = 'INSUFFICIENT_FUNDS' | 'NO_ACCOUNT';

/** One payment per order: the order id makes capture and refund idempotent. The money itself is in the ledger. */
@Entity({ name: 'payments' })
export class PaymentRecord {
  @PrimaryColumn('uuid', { name: 'order_id' }) orderId!: string;
  @Column('text') status!: PaymentStatus;
  /** Null on a VOIDED tombstone: the refund named only the order. */
  @Column('text', { name: 'customer_id', nullable: true }) customerId!: string | null;
  @Column('bigint', { name: 'amount_cents', nullable: true, transformer: bigintCents }) amountCents!: number | null;
  @Column('text', { name: 'decline_reason', nullable: true }) declineReason!: DeclineReason | null;
  @Column('text', { name: 'decline_detail', nullable: true }) declineDetail!: string | null;
  @Column('text', { name: 'refund_reason', nullable: true }) refundReason!: string | null;
  @Column('uuid', { name: 'capture_entry_id', nullable: true }) captureEntryId!: string | null;
  @Column('uuid', { name: 'refund_entry_id', nullable: true }) refundEntryId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
