import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A ledger account: `customer:<customerId>`, or a system account (`cash`, `revenue`). Balances live in the postings, not here. */
@Entity({ name: 'accounts' })
export class AccountRecord {
  @PrimaryColumn('text') id!: string;
  /** Set for customer accounts, null for system accounts. */
  @Column('text', { name: 'customer_id', nullable: true }) customerId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
