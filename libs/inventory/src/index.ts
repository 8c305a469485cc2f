/** The inventory module's only public entry. Other modules use `@app/inventory/contracts`, never this. */
export { InventoryModule } from './inventory.module';
