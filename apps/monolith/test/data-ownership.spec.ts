import { dataSourceToken } from '@app/platform';
import type { DataSource } from 'typeorm';
import { appContext } from './app-context';

/** Each module connects as its own role and can touch its own schema only. */
describe('data ownership', () => {
  const context = appContext();
  const as = (module: string) => context.app.get<DataSource>(dataSourceToken(module));

  it('connects each module as its own role, in its own schema', async () => {
    for (const module of ['orders', 'inventory', 'billing']) {
      const [row] = await as(module).query('SELECT current_user AS role, current_schema() AS schema');
      expect(row).toEqual({ role: `${module}_module`, schema: module });
    }
  });

  it("denies the orders module any read of billing's tables", async () => {
    const [{ table }] = await as('billing').query(
      `SELECT table_name AS table FROM information_schema.tables WHERE table_schema = 'billing' ORDER BY 1 LIMIT 1`,
    );
    await expect(as('orders').query(`SELECT * FROM billing.${table}`)).rejects.toThrow(/permission denied for schema billing/);
  });

  it.each([
    ['orders', 'inventory'],
    ['inventory', 'billing'],
    ['billing', 'orders'],
    ['inventory', 'orders'],
  ])('denies %s any access to the %s schema, including creating objects in it', async (module, other) => {
    await expect(as(module).query(`CREATE TABLE ${other}.intruder (id int)`)).rejects.toThrow(/permission denied for schema/);
    await expect(as(module).query(`SELECT count(*) FROM ${other}.migrations`)).rejects.toThrow(/permission denied for schema/);
  });

  it('lets no module create tables in the shared public schema', async () => {
    await expect(as('orders').query('CREATE TABLE public.shared_by_accident (id int)')).rejects.toThrow(
      /permission denied for schema public/,
    );
  });
});
