// The boundary rules, generated from the folders found under libs/ and apps/.
// A folder under libs/ is a business module unless config.platformLibs names it, so a new
// libs/shipping is covered without editing anything here.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const alt = (names) => names.map(escapeRegex).join('|');

function subfolders(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

/** What lives where: apps, business modules and platform libs, found on disk. */
export function discoverProject(root, settings) {
  const libs = subfolders(join(root, 'libs'));
  return {
    apps: subfolders(join(root, 'apps')),
    modules: libs.filter((name) => !settings.platformLibs.includes(name)),
    platformLibs: libs.filter((name) => settings.platformLibs.includes(name)),
    scan: settings.scan.filter((dir) => existsSync(join(root, dir))),
    hasTsConfig: existsSync(join(root, 'tsconfig.json')),
  };
}

/** Where a path (relative to the root, as dependency-cruiser reports it) belongs. */
export function classify(path, project) {
  let m = /^apps\/([^/]+)\//.exec(path);
  if (m) return { kind: 'app', name: m[1], label: `apps/${m[1]}` };
  m = /^libs\/([^/]+)\/(.*)$/.exec(path);
  if (m) {
    const [, name, rest] = m;
    const kind = project.platformLibs.includes(name) ? 'platform' : 'module';
    let area = 'internals';
    if (/^src\/index\.[cm]?[jt]s$/.test(rest)) area = 'entry';
    else if (/^src\/contracts\/index\.[cm]?[jt]s$/.test(rest)) area = 'contracts-entry';
    else if (rest.startsWith('src/contracts/')) area = 'contracts';
    return { kind, name, area, label: `libs/${name}` };
  }
  m = /^tools\/([^/]+)\//.exec(path);
  if (m) return { kind: 'tool', name: m[1], label: `tools/${m[1]}` };
  if (/(^|\/)node_modules\//.test(path)) return { kind: 'npm', label: path };
  return { kind: 'other', label: path };
}

// "billing's", "orders'"
const poss = (name) => (name.endsWith('s') ? `${name}'` : `${name}'s`);

const npmName = (specifier) => {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
};

/**
 * One entry per rule: the rule of the issue it implements, what it means in plain words, and a
 * fix tailored to the violation. `c` holds the violation: from/to (paths), fromP/toP (classify()),
 * specifier (as written in the source), cycle (list of paths) and the settings.
 */
export const RULES = {
  'module-via-contracts-only': {
    issueRule: 1,
    meaning:
      "A module may use another module only through that module's contracts entry " +
      '(libs/<module>/src/contracts/index.ts): never its internals, its Nest module, services, entities or migrations.',
    fix(c) {
      const me = c.fromP.name;
      const other = c.toP.name;
      if (c.toP.area === 'contracts') {
        return (
          `import it from ${poss(other)} contracts entry '@app/${other}/contracts' instead of a file inside it ` +
          `(export it from libs/${other}/src/contracts/index.ts if it is missing).`
        );
      }
      const start =
        c.toP.area === 'entry'
          ? `modules do not compose each other (only apps do), so ${me} must not import ${poss(other)} Nest module or public entry. `
          : '';
      return (
        `${start}${me} may only use ${poss(other)} published contracts: import from '@app/${other}/contracts', ` +
        `or publish this as a message in libs/${other}/src/contracts and handle it in ${me}.`
      );
    },
  },
  'app-via-public-entry-only': {
    issueRule: 1,
    meaning: "Apps compose modules only through each module's public entry (libs/<module>/src/index.ts) or its contracts entry.",
    fix(c) {
      const other = c.toP.name;
      return (
        `import from '@app/${other}' (export what the app needs from libs/${other}/src/index.ts, usually the Nest module) ` +
        `or from '@app/${other}/contracts' for message schemas.`
      );
    },
  },
  'platform-via-entry-only': {
    issueRule: 1,
    meaning: 'The platform lib is used only through its public entry (libs/<platform>/src/index.ts).',
    fix(c) {
      const p = c.toP.name;
      return `import from '@app/${p}' and, if it is missing there, export it from libs/${p}/src/index.ts.`;
    },
  },
  'contracts-stay-pure': {
    issueRule: 2,
    meaning:
      'Contracts import nothing but other contracts entries, files of their own contracts folder and the schema library ' +
      `(zod): no framework, no ORM, no module internals.`,
    fix(c) {
      const me = c.fromP.name;
      const libs = c.settings.schemaLibraries.join(', ');
      if (c.toP.kind === 'npm' || !c.to.startsWith('libs/')) {
        return (
          `remove '${npmName(c.specifier)}' from libs/${me}/src/contracts: a contract is a plain ${libs} schema that any process can load. ` +
          `Keep framework and ORM code in libs/${me}/src/{http,persistence,domain} and map to and from the contract there.`
        );
      }
      if (c.toP.kind === 'platform') {
        return (
          `define what you need with ${libs} inside libs/${me}/src/contracts, or (if you decide contracts may use the platform's ` +
          `message-envelope helper) allow that one file in tools/boundary-check/config.mjs#contractsMayImport.`
        );
      }
      return (
        `a contract must not depend on code that can change with the module: describe the shape as a ${libs} schema inside ` +
        `libs/${me}/src/contracts and let libs/${me}/src/domain map to and from it.`
      );
    },
  },
  'platform-not-to-modules': {
    issueRule: 5,
    meaning: 'The platform lib imports no business module: not its internals, its public entry or its contracts.',
    fix(c) {
      const other = c.toP.name;
      return (
        `the platform is shared plumbing and must not know ${other}: move this code into libs/${other}, or make the platform ` +
        `generic and let ${other} plug in (for example ${poss(other)} Nest module passes a handler or provider to the platform).`
      );
    },
  },
  'libs-not-to-apps': {
    issueRule: 3,
    meaning: 'libs never import apps: apps depend on libs, never the reverse.',
    fix(c) {
      return (
        `move the code you need from ${c.toP.label} into the lib (or into the platform lib if it is shared), ` +
        `or let the app pass it in through the Nest module's options or a provider.`
      );
    },
  },
  'not-to-tools': {
    issueRule: 3,
    meaning: 'apps and libs never import tools: tools are dev-time scripts that are not shipped.',
    fix() {
      return 'move the code you need into a lib (the platform lib for shared plumbing) and import it from there in both places.';
    },
  },
  'app-not-to-app': {
    issueRule: 3,
    meaning: 'An app never imports another app: each app is a separately deployable process.',
    fix(c) {
      return `move the shared code out of ${c.toP.label} into a lib (its module, or the platform lib) and import it in both apps.`;
    },
  },
  'cross-lib-via-alias': {
    issueRule: 1,
    meaning:
      "Another module or lib is imported through its tsconfig alias ('@app/<name>' or '@app/<name>/contracts'), never a relative path.",
    fix(c) {
      const other = c.toP.name;
      const alias = c.toP.area === 'contracts-entry' ? `@app/${other}/contracts` : `@app/${other}`;
      return `import from '${alias}' instead of '${c.specifier}': a relative path across libs breaks when ${other} is extracted into its own package or service.`;
    },
  },
  'no-cross-module-cycle': {
    issueRule: 4,
    meaning: 'No dependency cycles between modules (type-only imports count too): the module graph must be one-way.',
    fix(c) {
      const labels = [...new Set(c.cycle.map((p) => classify(p, c.project).label))];
      return (
        `break the cycle between ${labels.join(' and ')}: let one side depend on the other only, e.g. move the shared ` +
        `schema into one of the contracts, or have one side publish a message (in its contracts) that the other handles.`
      );
    },
  },
  'no-circular': {
    issueRule: 4,
    meaning: 'No runtime import cycles inside a module or app (a cycle that has at least one `import type` edge is tolerated).',
    fix() {
      return (
        'files in a runtime cycle load in an unpredictable order and see undefined imports. Move what both files need into ' +
        'a third file, or, if one side only needs types, turn that import into `import type`.'
      );
    },
  },
  'not-to-unresolvable': {
    issueRule: 6,
    meaning: 'Every import resolves to a file or to an installed package.',
    fix(c) {
      const entry = /^@app\/([^/]+)(\/contracts)?$/.exec(c.specifier);
      if (entry) {
        const file = `libs/${entry[1]}/src/${entry[2] ? 'contracts/' : ''}index.ts`;
        return (
          `'${c.specifier}' resolves to no file: create ${file}. tsconfig.json "paths" maps '@app/<name>' and ` +
          `'@app/<name>/contracts' for every folder under libs/ (check the aliases are still there).`
        );
      }
      if (c.specifier.startsWith('@app/')) {
        return (
          `'${c.specifier}' resolves to no file: fix the path. '@app/<name>' maps to libs/<name>/src and ` +
          `'@app/<name>/contracts' to its contracts (see "paths" in tsconfig.json); deep paths are not allowed anyway.`
        );
      }
      if (c.specifier.startsWith('.')) return `'${c.specifier}' resolves to no file: fix the path or create the file.`;
      return `'${c.specifier}' is not installed: fix the name, or add the package to package.json and run npm install.`;
    },
  },
};

export const RULE_NAMES = Object.keys(RULES);

/** dependency-cruiser options, including the rule set, for the discovered project. */
export function buildCruiseOptions(project, settings, cache = null) {
  const B = alt(project.modules);
  const P = alt(project.platformLibs);
  const rule = (name, from, to) => ({ name, severity: 'error', comment: RULES[name].meaning, from, to });
  const forbidden = [];

  if (project.modules.length > 0) {
    forbidden.push(
      rule(
        'module-via-contracts-only',
        { path: `^libs/(${B})/` },
        { path: `^libs/(?:${B})/`, pathNot: ['^libs/$1/', `^libs/(?:${B})/src/contracts/index[.][cm]?[jt]s$`], couldNotResolve: false },
      ),
      rule(
        'app-via-public-entry-only',
        { path: '^apps/[^/]+/' },
        { path: `^libs/(?:${B})/`, pathNot: `^libs/(?:${B})/src/(?:index|contracts/index)[.][cm]?[jt]s$`, couldNotResolve: false },
      ),
      rule(
        'contracts-stay-pure',
        { path: `^libs/(${B})/src/contracts/`, pathNot: '[.](?:spec|test)[.][cm]?[jt]s$' },
        {
          pathNot: [
            `^libs/(?:${B})/src/contracts/`,
            `(?:^|/)node_modules/(?:${alt(settings.schemaLibraries)})/`,
            ...settings.contractsMayImport,
          ],
          couldNotResolve: false,
        },
      ),
    );
  }
  if (project.platformLibs.length > 0) {
    forbidden.push(
      rule(
        'platform-via-entry-only',
        { path: '^((?:apps|libs)/[^/]+)/' },
        { path: `^libs/(?:${P})/`, pathNot: ['^$1/', `^libs/(?:${P})/src/index[.][cm]?[jt]s$`], couldNotResolve: false },
      ),
    );
    if (project.modules.length > 0) {
      forbidden.push(rule('platform-not-to-modules', { path: `^libs/(?:${P})/` }, { path: `^libs/(?:${B})/` }));
    }
  }
  forbidden.push(
    rule('libs-not-to-apps', { path: '^libs/' }, { path: '^apps/' }),
    rule('not-to-tools', { path: '^(?:apps|libs)/' }, { path: '^tools/' }),
    rule('app-not-to-app', { path: '^apps/([^/]+)/' }, { path: '^apps/', pathNot: '^apps/$1/' }),
    rule(
      'cross-lib-via-alias',
      { path: '^((?:apps|libs)/[^/]+)/' },
      {
        path: '^libs/[^/]+/src/(?:index|contracts/index)[.][cm]?[jt]s$',
        pathNot: '^$1/',
        dependencyTypesNot: ['aliased'],
      },
    ),
    rule('no-cross-module-cycle', { path: '^((?:apps|libs)/[^/]+)/' }, { circular: true, via: { pathNot: '^$1/' } }),
    rule(
      'no-circular',
      { path: '^((?:apps|libs|tools)/[^/]+)/' },
      { circular: true, viaOnly: { path: '^$1/', dependencyTypesNot: ['type-only'] } },
    ),
    rule('not-to-unresolvable', {}, { couldNotResolve: true }),
  );

  return {
    ruleSet: { forbidden },
    validate: true,
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: settings.exclude },
    moduleSystems: ['es6', 'cjs'],
    // jest.mock('…') and friends count as imports: a test must not reach into another module either.
    exoticRequireStrings: [
      'jest.mock',
      'jest.doMock',
      'jest.unmock',
      'jest.dontMock',
      'jest.setMock',
      'jest.requireActual',
      'jest.requireMock',
      'jest.createMockFromModule',
      'jest.unstable_mockModule',
    ],
    // keep `import type` and imports only used as types: they couple modules just the same
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    ...(cache ? { cache } : {}),
  };
}
