import { createHmac } from 'node:crypto';
import { Client } from 'pg';

/**
 * The database identities of one module, per deployment (`prefix`, by default the database name, because role
 * names are cluster-wide and two deployments on one server must not share them):
 *
 * - `<prefix>_<module>_owner` (NOLOGIN) owns the schema and every table in it; migrations run as it (an admin
 *   connection does `SET ROLE`). Only the owner could alter a table, disable or drop a trigger.
 * - `<prefix>_<module>` (NOLOGIN) holds what the module's code needs at run time: USAGE on the schema and the
 *   privileges its migrations grant table by table (billing's ledger: SELECT and INSERT, never UPDATE or DELETE).
 * - `<prefix>_<module>_<kid>` (LOGIN) is what the app connects as: a member of the runtime role, with a password
 *   derived from MODULE_DB_SECRET. `kid` is derived from the secret too, so a new secret means a new login role
 *   beside the old one: running instances keep working while the new ones roll out (see rotation in the README).
 */
export interface ModuleRoles {
  owner: string;
  runtime: string;
  login: string;
}

const NAME = /^[a-z][a-z0-9_]{0,40}$/;

/** A role prefix from a database name: lower-case letters, digits and underscores, at most 24 characters. */
export function rolePrefixFor(database: string): string {
  const prefix = database
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, 24);
  return prefix || 'app';
}

function hmac(secret: string, what: string): string {
  return createHmac('sha256', secret).update(what).digest('base64url');
}

/** Identifies the secret in login role names without revealing it. */
export function secretKeyId(secret: string): string {
  return createHmac('sha256', secret).update('key-id').digest('hex').slice(0, 8);
}

export function moduleRoles(prefix: string, module: string, secret: string): ModuleRoles {
  if (!NAME.test(module)) throw new Error(`Module name '${module}' must match ${NAME}`);
  if (!/^[a-z][a-z0-9_]{0,23}$/.test(prefix)) {
    throw new Error(`Role prefix '${prefix}' must be 1–24 lower-case letters, digits or underscores, starting with a letter.`);
  }
  const runtime = `${prefix}_${module}`;
  return { owner: `${runtime}_owner`, runtime, login: `${runtime}_${secretKeyId(secret)}` };
}

export function loginPassword(prefix: string, module: string, secret: string): string {
  return hmac(secret, `login:${prefix}:${module}`);
}

/** `baseUrl` (host, port, database) with the module's login role and password. */
export function moduleLoginUrl(baseUrl: string, prefix: string, module: string, secret: string): string {
  const url = new URL(baseUrl);
  url.username = moduleRoles(prefix, module, secret).login;
  url.password = loginPassword(prefix, module, secret);
  return url.toString();
}

/**
 * Creates (or brings up to date) the module's three roles and its schema: the owner owns it, the runtime role may
 * use it, nobody else may. Idempotent and safe to run from several instances at once. Needs an admin connection
 * that may create roles (a superuser, or a role with CREATEROLE and CREATE on the database).
 */
export async function provisionModule(adminUrl: string, module: string, prefix: string, secret: string): Promise<ModuleRoles> {
  const roles = moduleRoles(prefix, module, secret);
  const password = loginPassword(prefix, module, secret);
  const client = new Client({ connectionString: adminUrl, application_name: 'monolith-first:provision' });
  await client.connect();
  try {
    const { db, superuser } = (
      await client.query<{ db: string; superuser: boolean }>(
        `SELECT current_database() AS db, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`,
      )
    ).rows[0];
    const id = (name: string) => client.escapeIdentifier(name);
    await retryOnCatalogRace(async () => {
      // Roles are cluster-wide, so two databases on one server (parallel tests, two apps) race here.
      await client.query(`DO $$ BEGIN
          CREATE ROLE ${id(roles.owner)} NOLOGIN;
        EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      await client.query(`DO $$ BEGIN
          CREATE ROLE ${id(roles.runtime)} NOLOGIN;
        EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      await client.query(`DO $$ BEGIN
          CREATE ROLE ${id(roles.login)} LOGIN PASSWORD ${client.escapeLiteral(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object THEN
          ALTER ROLE ${id(roles.login)} LOGIN PASSWORD ${client.escapeLiteral(password)};
        END $$`);
      await client.query(`GRANT ${id(roles.runtime)} TO ${id(roles.login)}`);
      // A non-superuser admin must be a member of the owner to run migrations as it.
      if (!superuser) await client.query(`GRANT ${id(roles.owner)} TO CURRENT_USER`);
    });
    await retryOnCatalogRace(async () => {
      await client.query('BEGIN');
      try {
        // Serialise provisioning within this database; CREATE SCHEMA IF NOT EXISTS is not race-free.
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('monolith-first:provision'))`);
        await adoptLegacyOwner(client, module, roles.owner);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${id(module)} AUTHORIZATION ${id(roles.owner)}`);
        await client.query(`ALTER SCHEMA ${id(module)} OWNER TO ${id(roles.owner)}`);
        await client.query(`REVOKE ALL ON SCHEMA ${id(module)} FROM PUBLIC`);
        await client.query(`GRANT USAGE ON SCHEMA ${id(module)} TO ${id(roles.runtime)}`);
        // No module may park tables in the shared public schema.
        await client.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
        await client.query(`ALTER ROLE ${id(roles.login)} IN DATABASE ${id(db)} SET search_path = ${id(module)}`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    });
    return roles;
  } finally {
    await client.end();
  }
}

/**
 * Up to 0.1 the module's one role (`<module>_module`) both owned the schema and logged in. Hand what it owns in this
 * database to the owner role; the old role itself is left in place (it may serve another database on the server).
 */
async function adoptLegacyOwner(client: Client, module: string, owner: string): Promise<void> {
  const { rows } = await client.query<{ legacy: string }>(
    `SELECT r.rolname AS legacy FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = $1 AND r.rolname = $2`,
    [module, `${module}_module`],
  );
  if (rows.length === 0) return;
  await client.query(`REASSIGN OWNED BY ${client.escapeIdentifier(rows[0].legacy)} TO ${client.escapeIdentifier(owner)}`);
}

/**
 * Drops the module's login roles other than the current secret's (after a rotation, once every instance runs with
 * the new secret). Returns the roles dropped. Their sessions are ended first.
 */
export async function retireOtherLogins(adminUrl: string, module: string, prefix: string, secret: string): Promise<string[]> {
  const roles = moduleRoles(prefix, module, secret);
  const client = new Client({ connectionString: adminUrl, application_name: 'monolith-first:provision' });
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string }>(
      `SELECT m.rolname AS role FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
        WHERE g.rolname = $1 AND m.rolname <> $2 AND m.rolcanlogin AND m.rolname ~ ('^' || $1 || '_[0-9a-f]{8}$')`,
      [roles.runtime, roles.login],
    );
    for (const { role } of rows) {
      await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
      await client.query(`DROP ROLE ${client.escapeIdentifier(role)}`);
    }
    return rows.map((r) => r.role);
  } finally {
    await client.end();
  }
}

async function retryOnCatalogRace(work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { code?: string }).code;
      const race = code === '23505' || code === '40001' || code === '40P01' || /concurrently/.test(String(error));
      if (!race || attempt >= 5) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
