import { type ModuleDb, moduleDbToken, rolesOf } from '@app/platform';
import { appContext } from './app-context';

/** Each module connects as its own role and can touch its own schema only. */
describe('data ownership', () => {
  const context = appContext();
  const as = (module: string) => context.app.get<ModuleDb>(moduleDbToken(module));

  it('connects each module as its own login role, a member of its runtime role only, in its own schema', async () => {
    for (const module of ['orders', 'inventory', 'billing']) {
      const roles = rolesOf(context.db.settings, module);
      const [row] = await as(module).query(
        `SELECT current_user AS role, current_schema() AS schema,
                (SELECT array_agg(g.rolname::text ORDER BY g.rolname) FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
                  WHERE a.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)) AS member_of,
                (SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user) AS privileged,
                (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = current_schema()) AS schema_owner`,
      );
      expect(row).toEqual({ role: roles.login, schema: module, member_of: [roles.runtime], privileged: false, schema_owner: roles.owner });
    }
  });

  it('owns nothing: the schema and its tables belong to the owner role, which the app never connects as', async () => {
    for (const module of ['orders', 'inventory', 'billing']) {
      const roles = rolesOf(context.db.settings, module);
      const owners = await as(module).query<{ owner: string }>(`SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = $1`, [
        module,
      ]);
      expect(owners).toEqual([{ owner: roles.owner }]);
      await expect(as(module).query(`ALTER TABLE outbox ADD COLUMN sneaky int`)).rejects.toThrow(/must be owner of table outbox/);
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
