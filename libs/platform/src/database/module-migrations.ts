/* eslint-disable @typescript-eslint/no-require-imports -- a module's migrations are the files of its migrations/ folder */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { MigrationInterface } from 'typeorm';
import type { ModuleDatabaseDefinition } from './module-database';

/** A migration class as TypeORM takes it. */
export type MigrationClass = new () => MigrationInterface;

/**
 * `<13-digit timestamp>-<kebab-name>.ts` (or `.js` once built): the files `npm run migration:create` writes. The
 * timestamp orders them (TypeORM sorts by the 13 digits that end the class name, which the template keeps equal).
 */
const MIGRATION_FILE = /^(\d{13})-[a-z0-9][a-z0-9-]*\.(ts|js)$/;

/**
 * Every migration class exported by the files of `dir`, in timestamp order. A module lists
 * `...migrationsIn(path.join(__dirname, 'migrations'))` once, so a new file there is picked up without editing a list.
 * Works from source (Jest requires the .ts files) and from dist/ (the compiled .js; declaration files are skipped).
 */
export function migrationsIn(dir: string): MigrationClass[] {
  const files = readdirSync(dir)
    .filter((file) => MIGRATION_FILE.test(file) && !file.endsWith('.d.ts'))
    .sort();
  return files.flatMap((file) => {
    const exported = Object.values(require(path.join(dir, file)) as Record<string, unknown>).filter(
      (value): value is MigrationClass =>
        typeof value === 'function' && typeof (value.prototype as { up?: unknown } | undefined)?.up === 'function',
    );
    if (exported.length !== 1) {
      throw new Error(
        `${path.join(dir, file)} must export exactly one migration class (a class with up() and down()), found ${exported.length}. ` +
          `Write one with \`npm run migration:create -- <module> <name>\`.`,
      );
    }
    const [migration] = exported;
    const timestamp = MIGRATION_FILE.exec(file)![1];
    if (!migration.name.endsWith(timestamp)) {
      throw new Error(
        `${path.join(dir, file)}: its class ${migration.name} must end with the file's timestamp ${timestamp} (TypeORM orders ` +
          `migrations by it). Rename the class.`,
      );
    }
    return [migration];
  });
}

/**
 * The database definitions of the modules loaded in this process, by module name. `DatabaseModule.forModule()`
 * records each one, so requiring a module's public entry is enough for the migration CLI to find its schema and
 * migrations without building a Nest application (which would migrate while it opens the module's database).
 */
const definitions = new Map<string, ModuleDatabaseDefinition>();

export function recordModuleDatabase(def: ModuleDatabaseDefinition): void {
  definitions.set(def.name, def);
}

export function moduleDatabaseDefinition(module: string): ModuleDatabaseDefinition | undefined {
  return definitions.get(module);
}
