#!/usr/bin/env node
// `npm run new-module -- <name>`: creates libs/<name>, a business module in the shape of libs/inventory, ready to run
// in the monolith and on its own (REMOTE_MODULES=<name> plus apps/module-service). Nothing else needs registering:
// tsconfig "paths", Jest, nest build, the boundary check and the monolith find every folder under libs/
// (docs/adding-a-module.md, "What registers a module"). Plain Node and commander: no build, no schematic collection
// to maintain beside the templates.
import { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { moduleFiles } from './templates.mjs';

/**
 * Names that cannot be a module: the platform lib, the monolith's own host and queue name, routes every host
 * serves, PostgreSQL's reserved schema names and words it would need quoted, and folder names of the repository.
 */
export const RESERVED_NAMES = new Set([
  ...['platform', 'monolith', 'module', 'service', 'contracts', 'messaging', 'migrations'],
  ...['admin', 'health', 'docs'],
  ...['public', 'information_schema', 'postgres', 'user', 'order', 'group', 'table', 'select', 'all', 'default', 'check'],
  ...['app', 'apps', 'libs', 'tools', 'test', 'dist', 'node_modules'],
]);

/** The name's spellings: folder/schema/role (snake), route and file (kebab), identifiers (camel, Pascal, CONSTANT). */
export function namesOf(input) {
  const name = input.replace(/-/g, '_');
  const words = name.split('_');
  const cap = (w) => w.charAt(0).toUpperCase() + w.slice(1);
  return {
    name,
    route: words.join('-'),
    file: words.join('-'),
    camel: words.map((w, i) => (i === 0 ? w : cap(w))).join(''),
    pascal: words.map(cap).join(''),
    constant: name.toUpperCase(),
    title: cap(words.join(' ')),
  };
}

/** Why `input` cannot name a new module under `root`/libs, or undefined when it can. */
export function whyNot(root, input) {
  if (!/^[a-z][a-z0-9]*([-_][a-z0-9]+)*$/.test(input)) {
    return `'${input}' is not a module name: use lower-case letters and digits, words joined by '-' (kebab-case, e.g. gift-cards), starting with a letter.`;
  }
  const { name } = namesOf(input);
  if (name.length > 40) return `'${input}' is too long: at most 40 characters (it prefixes the module's database roles).`;
  if (RESERVED_NAMES.has(name) || name.startsWith('pg_'))
    return `'${input}' is reserved (${name.startsWith('pg_') ? "PostgreSQL's pg_ schemas" : 'used by the platform, PostgreSQL or the repository'}): choose another name.`;
  if (existsSync(path.join(root, 'libs', name))) return `libs/${name} exists already: choose another name (nothing was written).`;
  return undefined;
}

/** Writes libs/<name>; returns the files written, relative to `root`. Refuses to overwrite anything. */
export function createModule(root, input, now = Date.now()) {
  const problem = whyNot(root, input);
  if (problem) throw new Error(problem);
  const n = namesOf(input);
  const dir = path.join(root, 'libs', n.name);
  // Whole seconds: the module's migrations and the platform's (timestamp + 10, + 11, ...) stay apart and ordered.
  const timestamp = Math.floor(now / 1000) * 1000;
  const written = [];
  for (const [file, source] of Object.entries(moduleFiles(n, timestamp))) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, source, { flag: 'wx' });
    written.push(path.relative(root, target));
  }
  return written;
}

function nextSteps(n) {
  const steps = [
    [`npx jest libs/${n.name}`, 'its tests: the domain, and the module booted alone on PostgreSQL'],
    ['npm start', `the monolith hosts it: POST /${n.route}/entries, GET /${n.route}/entries/:id`],
    ['npm run lint:boundaries -- --graph', 'check the boundaries and add it to docs/modules.md'],
    ['npm run docs:events', 'add its messages to docs/events.md and docs/asyncapi.json'],
    [`npm run migration:create -- ${n.name} <name>`, 'its next migration'],
    [`REMOTE_MODULES=${n.name} npm start`, 'the monolith without it (needs Redis), beside:'],
    [`npm run start:service -- ${n.name}`, 'the module as its own service'],
  ];
  const width = Math.max(...steps.map(([command]) => command.length)) + 3;
  return [
    `Created libs/${n.name}. Nothing else to register: tsconfig paths, Jest, nest build, the boundary check and the monolith find it.`,
    '',
    'Next:',
    ...steps.map(([command, what]) => `  ${command.padEnd(width)}${what}`),
    '',
    `Then rename the example (an "entry" that a confirmed order opens) to your domain's words: docs/adding-a-module.md.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  new Command('new-module')
    .description('Create a business module under libs/ in the shape of libs/inventory.')
    .argument('<name>', 'the module name in kebab-case, e.g. shipping or gift-cards (its folder and schema use _: gift_cards)')
    .action((input) => {
      const root = process.cwd();
      if (!existsSync(path.join(root, 'libs', 'platform'))) {
        console.error(`Run this at the repository's root (no libs/platform in ${root}).`);
        process.exitCode = 1;
        return;
      }
      try {
        const files = createModule(root, input);
        for (const file of files) console.log(`  ${file}`);
        console.log(`\n${nextSteps(namesOf(input))}`);
      } catch (error) {
        console.error(error.message);
        process.exitCode = 1;
      }
    })
    .parse();
}
