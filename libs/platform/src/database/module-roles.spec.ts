import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { moduleLoginUrl, moduleRoles, provisionModule, retireOtherLogins } from './module-roles';

const OLD_SECRET = 'rotation-test-old-secret-0123456789abcdef';
const NEW_SECRET = 'rotation-test-new-secret-fedcba9876543210';

/** Connects as the module's login role of `secret`; resolves to who the server says we are. */
async function connectAs(db: TestDatabase, prefix: string, secret: string): Promise<Client> {
  const client = new Client({ connectionString: moduleLoginUrl(db.url, prefix, 'alpha', secret) });
  client.on('error', () => undefined); // a retired login's session is ended by the server; its next query says so
  await client.connect();
  return client;
}

async function whoAmI(client: Client): Promise<{ user: string; schema: string }> {
  const { rows } = await client.query<{ user: string; schema: string }>(`SELECT current_user AS user, current_schema() AS schema`);
  return rows[0];
}

/** The stored password hash of a role (pg_authid: a superuser may read it), to see that nobody changed it. */
async function passwordOf(db: TestDatabase, role: string): Promise<string | null> {
  const admin = new Client({ connectionString: db.settings.adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ rolpassword: string | null }>(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, [role]);
    return rows[0]?.rolpassword ?? null;
  } finally {
    await admin.end();
  }
}

describe('module roles: deployments sharing a cluster, and rotating MODULE_DB_SECRET', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  const open: Client[] = [];

  beforeAll(async () => {
    [db, other] = await Promise.all([createTestDatabase('roles'), createTestDatabase('roles')]);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => undefined)));
    await Promise.all([db.drop(), other.drop()]);
  });

  it('keeps two deployments on one server apart: provisioning one changes nothing of the other', async () => {
    const mine = db.settings.rolePrefix;
    const theirs = other.settings.rolePrefix;
    await provisionModule(db.settings.adminUrl, 'alpha', mine, OLD_SECRET);
    const before = await passwordOf(db, moduleRoles(mine, 'alpha', OLD_SECRET).login);
    expect(before).not.toBeNull();

    // The other deployment, on the same server, with its own secret, starting again and again.
    await provisionModule(other.settings.adminUrl, 'alpha', theirs, NEW_SECRET);
    await provisionModule(other.settings.adminUrl, 'alpha', theirs, NEW_SECRET);
    expect(moduleRoles(theirs, 'alpha', NEW_SECRET).login).not.toBe(moduleRoles(mine, 'alpha', OLD_SECRET).login);
    expect(await passwordOf(db, moduleRoles(mine, 'alpha', OLD_SECRET).login)).toBe(before);

    const client = await connectAs(db, mine, OLD_SECRET);
    open.push(client);
    expect(await whoAmI(client)).toEqual({ user: moduleRoles(mine, 'alpha', OLD_SECRET).login, schema: 'alpha' });
  });

  it('rotates: the new secret adds a login beside the old one, both serve during the roll-out, retiring drops the old', async () => {
    const prefix = db.settings.rolePrefix;
    const oldLogin = moduleRoles(prefix, 'alpha', OLD_SECRET).login;
    const newLogin = moduleRoles(prefix, 'alpha', NEW_SECRET).login;
    expect(newLogin).not.toBe(oldLogin);

    await provisionModule(db.settings.adminUrl, 'alpha', prefix, OLD_SECRET);
    const running = await connectAs(db, prefix, OLD_SECRET); // an instance of the old release, connected
    open.push(running);
    const oldPassword = await passwordOf(db, oldLogin);

    // Step 1: the migrate job of the new release runs with the new secret.
    await provisionModule(db.settings.adminUrl, 'alpha', prefix, NEW_SECRET);
    expect(await passwordOf(db, oldLogin)).toBe(oldPassword);

    // Step 2: during the roll-out, old and new instances both work, and old ones may still (re)connect.
    const fresh = await connectAs(db, prefix, NEW_SECRET);
    open.push(fresh);
    expect(await whoAmI(fresh)).toEqual({ user: newLogin, schema: 'alpha' });
    expect(await whoAmI(running)).toEqual({ user: oldLogin, schema: 'alpha' });
    const restarted = await connectAs(db, prefix, OLD_SECRET);
    open.push(restarted);
    expect((await whoAmI(restarted)).user).toBe(oldLogin);

    // Step 3: every instance runs the new secret: `npm run migrate -- --retire-other-logins`.
    expect(await retireOtherLogins(db.settings.adminUrl, 'alpha', prefix, NEW_SECRET)).toEqual([oldLogin]);
    expect(await passwordOf(db, oldLogin)).toBeNull();
    await expect(connectAs(db, prefix, OLD_SECRET)).rejects.toThrow(
      new RegExp(`role "${oldLogin}" does not exist|password authentication failed`),
    );
    await expect(running.query('SELECT 1')).rejects.toThrow(); // its sessions were ended
    expect(await whoAmI(fresh)).toEqual({ user: newLogin, schema: 'alpha' });

    // Retiring again drops nothing; the other deployment's login is untouched.
    expect(await retireOtherLogins(db.settings.adminUrl, 'alpha', prefix, NEW_SECRET)).toEqual([]);
    expect(await passwordOf(other, moduleRoles(other.settings.rolePrefix, 'alpha', NEW_SECRET).login)).not.toBeNull();
  });
});
