/** The billing module's only public entry. Other modules use `@app/billing/contracts`, never this. */
export { BillingModule } from './billing.module';
