// Loaded only when inventory runs in the monolith (not listed in REMOTE_MODULES): see ../app.module.ts.
export { InventoryModule } from '@app/inventory';
