// Loaded only when orders runs in the monolith (not listed in REMOTE_MODULES): see ../app.module.ts.
export { OrdersModule } from '@app/orders';
