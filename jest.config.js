// Jest runs TypeScript through SWC (fast, no type-check: `npm run typecheck` does that).
// legacyDecorator + decoratorMetadata are required, or Nest injects `undefined`.
/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
// Nest 12 and several of its dependencies ship as ES modules. Node >= 20.19 loads them from CommonJS
// (require(esm)), but Jest's own module runtime only does so on Node >= 24.9, so on Node 20 Jest
// must compile them. Find every installed "type": "module" package instead of keeping a list by hand.
const fs = require('node:fs');
const path = require('node:path');
function esmPackages(dir = path.join(__dirname, 'node_modules')) {
  const names = [];
  for (const entry of fs.readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? fs.readdirSync(path.join(dir, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of dirs) {
      try {
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, name, 'package.json'), 'utf8'));
        if (pkg.type === 'module') names.push(name);
      } catch {
        // not a package folder
      }
    }
  }
  return names;
}
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// The @app/* aliases are declared once, in tsconfig.json "paths"; Jest gets the same mapping, in TypeScript's order
// of precedence (an exact pattern, then the longest prefix before the `*`, then the order written). So libs/shipping
// resolves as `@app/shipping` here as soon as the folder exists.
function moduleNameMapperFromTsconfig() {
  const ts = require('typescript');
  const file = path.join(__dirname, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  if (error) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  const paths = config.compilerOptions?.paths ?? {};
  const prefixLength = (pattern) => (pattern.includes('*') ? pattern.indexOf('*') : Infinity);
  const patterns = Object.keys(paths).sort((a, b) => prefixLength(b) - prefixLength(a));
  return Object.fromEntries(
    patterns.map((pattern) => [
      `^${pattern.split('*').map(escapeRegExp).join('(.*)')}$`,
      paths[pattern].map((target) => `<rootDir>/${path.posix.normalize(target).replace('*', '$1')}`),
    ]),
  );
}

module.exports = {
  rootDir: '.',
  globalSetup: '<rootDir>/libs/platform/src/testing/jest-global-setup.ts',
  globalTeardown: '<rootDir>/libs/platform/src/testing/jest-global-teardown.ts',
  testEnvironment: 'node',
  // Integration tests wait for asynchronous sagas; a stuck one fails with its own message well before this.
  testTimeout: 30_000,
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools'],
  testRegex: '.*\\.(spec|test)\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/fixtures/'],
  transform: { '^.+\\.[cm]?[tj]s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages().map(escapeRegExp).join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: moduleNameMapperFromTsconfig(),
};
