import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintCents } from './cents';

/** One side of an entry. amount_cents is signed: debit > 0, credit < 0. Insert-only, like its entry. */
@Entity({ name: 'postings' })
export class PostingRecord {
  @PrimaryColumn('uuid', { name: 'entry_id' }) entryId!: string;
  @PrimaryColumn('text', { name: 'account_id' }) accountId!: string;
  @Column('bigint', { name: 'amount_cents', transformer: bigintCents }) amountCents!: number;
}
