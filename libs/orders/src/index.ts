/** The orders module's only public entry. Other modules use `@app/orders/contracts`, never this. */
export { OrdersModule } from './orders.module';
