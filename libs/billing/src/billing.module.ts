import { DatabaseModule, MessagingModule } from '@app/platform';
import { Module } from '@nestjs/common';
import { BillingHandlers } from './application/billing.handlers';
import { BillingService } from './application/billing.service';
import { BillingController } from './http/billing.controller';
import { billingDatabase } from './persistence';
import { PaymentCaptured, PaymentDeclined, PaymentRefunded, billingConsumes } from './contracts';

/** The messages billing publishes (its outbox refuses any other) and consumes (checked against its handlers). */
const billingMessages = { publishes: [PaymentCaptured, PaymentDeclined, PaymentRefunded], consumes: billingConsumes };

/** Billing: customer accounts on a double-entry ledger, and the payment of orders. Owns the `billing` schema. */
@Module({
  imports: [DatabaseModule.forModule(billingDatabase), MessagingModule.forModule('billing', billingMessages)],
  controllers: [BillingController],
  providers: [BillingService, BillingHandlers],
})
export class BillingModule {}
