// Loaded only when billing runs in the monolith (not listed in REMOTE_MODULES): see ../app.module.ts.
export { BillingModule } from '@app/billing';
