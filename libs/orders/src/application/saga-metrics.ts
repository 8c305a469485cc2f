import { InjectModuleDb, type ModuleCounter, type ModuleDb, type ModuleHistogram, ModuleMetrics, statement } from '@app/platform';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Order, OrderStatus } from '../domain/order';

const COMPENSATING = statement(`SELECT count(*)::int AS n FROM orders WHERE status = 'PENDING' AND saga->>'cancelReason' IS NOT NULL`);

/** Milliseconds since the epoch in a UUIDv7 (its first 48 bits): when the order was placed. */
function placedAt(orderId: string): number {
  return parseInt(orderId.replaceAll('-', '').slice(0, 12), 16);
}

/**
 * The saga's outcomes as metrics: orders that finished, by status and reason; the time from placing to CONFIRMED; and,
 * read from orders' table at each scrape, the orders whose compensation is running (PENDING with a cancel reason).
 */
@Injectable()
export class SagaMetrics implements OnModuleInit {
  private finished?: ModuleCounter;
  private toConfirmed?: ModuleHistogram;

  constructor(
    private readonly metrics: ModuleMetrics,
    @InjectModuleDb('orders') private readonly db: ModuleDb,
  ) {}

  onModuleInit(): void {
    this.finished = this.metrics.counter('orders_finished_total', 'Orders that reached CONFIRMED or CANCELLED, by reason.', [
      'status',
      'reason',
    ]);
    this.toConfirmed = this.metrics.histogram('orders_time_to_confirmed_seconds', 'From POST /orders to CONFIRMED.');
    this.metrics.gauge(
      'orders_compensations_running',
      'PENDING orders whose compensation is under way (read at scrape time).',
      [],
      async (gauge) => {
        const [{ n }] = await this.db.query<{ n: number }>(COMPENSATING);
        gauge.set({}, n);
      },
    );
  }

  /** A saga step committed that moved the order from `before` to `after`. */
  stepped(before: OrderStatus, after: Order): void {
    if (before !== 'PENDING' || after.status === 'PENDING') return;
    this.finished?.inc({ status: after.status, reason: after.reason ?? '' });
    if (after.status === 'CONFIRMED') this.toConfirmed?.observe({}, Math.max(0, Date.now() - placedAt(after.id)) / 1000);
  }
}
