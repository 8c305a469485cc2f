#!/usr/bin/env node
// `npm run migration:create -- <module> <name>`: writes libs/<module>/src/persistence/migrations/<timestamp>-<name>.ts,
// which the module's migration list picks up (migrationsIn() in its persistence/index.ts). A source-tree tool: it needs
// no build, and the image has no use for it. Apply with `npm run migration:run -- <module>`, undo the last one with
// `npm run migration:revert -- <module>`.
import { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The class name TypeORM reads the timestamp from: PascalCase of the name, then the 13 digits. */
export function migrationClassName(name, timestamp) {
  return (
    name
      .split('-')
      .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
      .join('') + timestamp
  );
}

export function migrationSource(module, className) {
  return `import type { MigrationInterface, QueryRunner } from 'typeorm';

/** TODO: what this changes in ${module}'s schema, and why. */
export class ${className} implements MigrationInterface {
  name = '${className}';

  // Runs in a transaction of its own as ${module}'s owner role, with search_path=${module} (unqualified names are
  // ${module}'s tables). Give the running code what it needs of a new table with grantToRuntime(q, 'SELECT, INSERT',
  // '<table>') from @app/platform. Rename _q to q once you use it.
  up(_q: QueryRunner): Promise<void> {
    // Fails until written, so an unwritten migration is never recorded as applied.
    return Promise.reject(new Error(\`\${this.name}.up() is not written yet: write it, then npm run migration:run -- ${module}\`));
  }

  // Undoes up(), so that \`npm run migration:revert -- ${module}\` works.
  down(_q: QueryRunner): Promise<void> {
    return Promise.reject(new Error(\`\${this.name}.down() is not written yet\`));
  }
}
`;
}

/** Writes the migration; returns its path. Throws with what to do when the module or the name is wrong. */
export function createMigration(root, module, name, now = Date.now()) {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(name) || name.endsWith('-') || name.includes('--')) {
    throw new Error(`'${name}' is not a migration name: use lower-case words joined by dashes, e.g. add-fees.`);
  }
  const dir = path.join(root, 'libs', module, 'src', 'persistence', 'migrations');
  if (module === 'platform' || !existsSync(path.join(root, 'libs', module, 'src', 'index.ts'))) {
    const modules = readdirSync(path.join(root, 'libs')).filter(
      (m) => m !== 'platform' && existsSync(path.join(root, 'libs', m, 'src', 'index.ts')),
    );
    throw new Error(`'${module}' is not a module under libs/ (modules: ${modules.join(', ')}).`);
  }
  // Later than every existing migration of the module, even one written with a clock ahead of this one.
  const latest = existsSync(dir) ? Math.max(0, ...readdirSync(dir).map((f) => Number(/^(\d{13})-/.exec(f)?.[1] ?? 0))) : 0;
  const timestamp = String(Math.max(now, latest + 1));
  const file = path.join(dir, `${timestamp}-${name}.ts`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, migrationSource(module, migrationClassName(name, timestamp)), { flag: 'wx' });
  return file;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const program = new Command('migration:create')
    .description("Write a new migration of a module from the template; the module's migration list picks it up.")
    .argument('<module>', 'the module, e.g. billing')
    .argument('<name>', 'what it does, in kebab-case, e.g. add-fees')
    .action((module, name) => {
      try {
        const file = createMigration(process.cwd(), module, name);
        console.log(`Wrote ${path.relative(process.cwd(), file)}.`);
        console.log(
          `Next: write up() and down(), then npm run migration:run -- ${module} (and npm run migration:revert -- ${module} to undo it).`,
        );
      } catch (error) {
        console.error(error.message);
        process.exitCode = 1;
      }
    });
  program.parse();
}
