import 'reflect-metadata';
import { loadEnvFileIfPresent, runMain, startModuleService } from '@app/platform';

/**
 * Billing extracted into its own service: the same BillingModule the monolith loads (found under libs/ as the
 * monolith finds it), with its own database (BILLING_DATABASE_URL, else an embedded PostgreSQL of its own), its HTTP
 * endpoints on BILLING_PORT (3001) and its messages over BullMQ (REDIS_URL). Run the monolith with
 * REMOTE_MODULES=billing beside it. Any other module runs the same way with apps/module-service. See
 * docs/extracting-a-service.md.
 */
loadEnvFileIfPresent(); // ./.env, if any; the environment wins
runMain(() =>
  startModuleService('billing', {
    defaultPort: 3001,
    description:
      'Customer accounts on a double-entry ledger, and the payment of orders. Errors are RFC 9457 problem+json; money is integer cents.',
  }),
);
