import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'items' })
@Check('items_available_not_negative', 'available >= 0')
@Check('items_reserved_not_negative', 'reserved >= 0')
@Check('items_price_not_negative', 'price_cents >= 0')
export class ItemRecord {
  @PrimaryColumn('text') sku!: string;
  @Column('text') name!: string;
  @Column('integer', { name: 'price_cents' }) priceCents!: number;
  @Column('integer') available!: number;
  @Column('integer') reserved!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
