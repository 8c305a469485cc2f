import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { EntryKind } from '../domain/ledger';

/** One money movement. Insert-only: the database refuses UPDATE and DELETE. */
@Entity({ name: 'journal_entries' })
export class JournalEntryRecord {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') kind!: EntryKind;
  @Column('uuid', { name: 'order_id', nullable: true }) orderId!: string | null;
  @Column('uuid', { name: 'reverses_entry_id', nullable: true }) reversesEntryId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
