import { createHmac } from 'node:crypto';
import { Client } from 'pg';

/** A business module's database identity: it owns one schema and logs in as one role. */
export interface ModuleIdentity {
  /** Module name; also its schema name. Lower-case letters, digits and underscores. */
  readonly name: string;
}

export function moduleRoleName(module: string): string {
  return `${module}_module`;
}

export function moduleRolePassword(module: string, secret: string): string {
  return createHmac('sha256', secret).update(`role:${module}`).digest('base64url');
}

/** The admin URL with the module's role and password in place of the admin's. */
export function moduleConnectionUrl(adminUrl: string, module: string, secret: string): string {
  const url = new URL(adminUrl);
  url.username = moduleRoleName(module);
  url.password = moduleRolePassword(module, secret);
  return url.toString();
}

const SAFE_NAME = /^[a-z][a-z0-9_]{0,40}$/;

/**
 * Creates (or brings up to date) the module's role and schema, so that the role can use its own schema
 * and nothing else. Idempotent, and safe to run from several instances at once.
 * Needs an admin connection that may create roles (a superuser, or a role with CREATEROLE + CREATE on the database).
 */
export async function provisionModule(adminUrl: string, module: string, secret: string): Promise<void> {
  if (!SAFE_NAME.test(module)) throw new Error(`Module name '${module}' must match ${SAFE_NAME}`);
  const role = moduleRoleName(module);
  const password = moduleRolePassword(module, secret);
  const client = new Client({ connectionString: adminUrl, application_name: 'monolith-first:provision' });
  await client.connect();
  try {
    const db = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db;
    const ident = client.escapeIdentifier.bind(client);
    const literal = client.escapeLiteral.bind(client);
    await retryOnCatalogRace(async () => {
      // Roles are cluster-wide, so two databases on one server (parallel tests, two apps) race here.
      await client.query(`DO $$ BEGIN
          CREATE ROLE ${ident(role)} LOGIN PASSWORD ${literal(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object THEN
          ALTER ROLE ${ident(role)} LOGIN PASSWORD ${literal(password)};
        END $$`);
    });
    await retryOnCatalogRace(async () => {
      await client.query('BEGIN');
      try {
        // Serialise provisioning within this database; CREATE SCHEMA IF NOT EXISTS is not race-free.
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('monolith-first:provision'))`);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(module)} AUTHORIZATION ${ident(role)}`);
        await client.query(`ALTER SCHEMA ${ident(module)} OWNER TO ${ident(role)}`);
        await client.query(`REVOKE ALL ON SCHEMA ${ident(module)} FROM PUBLIC`);
        // No module may park tables in the shared public schema.
        await client.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
        await client.query(`ALTER ROLE ${ident(role)} IN DATABASE ${ident(db)} SET search_path = ${ident(module)}`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    });
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
