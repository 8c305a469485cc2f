// Runs dependency-cruiser with the generated rules and turns its result into violations a
// developer can act on. dependency-cruiser is ESM-only, hence .mjs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { RULES, buildCruiseOptions, classify, discoverProject } from './rules.mjs';

// Code-unit order, not localeCompare: output and baseline must not depend on the machine's locale.
const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Cruises `root` (which must be the working directory: dependency-cruiser reports paths relative
 * to it). Returns the project, the raw cruise output and the list of violations.
 */
export async function runCheck(root, settings, { cache = false } = {}) {
  const project = discoverProject(root, settings);
  if (project.scan.length === 0) {
    return { project, output: { modules: [], summary: { violations: [] } }, violations: [] };
  }
  const options = buildCruiseOptions(project, settings, cache ? prepareCache(root) : null);
  const tsconfig = join(root, 'tsconfig.json');
  const transpile = project.hasTsConfig ? { tsConfig: extractTSConfig(tsconfig) } : {};
  // The aliases are resolved by enhanced-resolve's own tsconfig support, which handles a '*' inside a pattern
  // ('@app/*/contracts') as TypeScript does. dependency-cruiser's `tsConfig` option would use tsconfig-paths, which
  // mis-reads such a pattern (github.com/jonaskello/tsconfig-paths/issues/140) and reports every contracts import
  // as unresolvable.
  const resolve = project.hasTsConfig ? { tsconfig: { configFile: tsconfig } } : undefined;
  const result = await cruise(project.scan, { ...options, outputType: 'json' }, resolve, transpile);
  const output = typeof result.output === 'string' ? JSON.parse(result.output) : result.output;
  // With outputType 'json' dependency-cruiser's exitCode is always 0: count the errors ourselves.
  const violations = output.summary.violations
    .filter((v) => v.rule.severity === 'error')
    .map((v) => toViolation(v, output, project, settings))
    .sort((a, b) => compare(a.from, b.from) || a.line - b.line || compare(a.rule, b.rule));
  return { project, output, violations };
}

/**
 * dependency-cruiser's 'content' cache notices changed, added and removed files in the scanned
 * folders, but not a changed tsconfig.json (aliases) or newly installed packages. Key the cache on
 * those files: when they change, start from an empty cache. One folder per checked root.
 */
function prepareCache(root) {
  const folder = join('node_modules', '.cache', 'boundary-check', createHash('sha1').update(root).digest('hex').slice(0, 12));
  const inputs = createHash('sha1');
  for (const file of ['tsconfig.json', 'package.json', 'package-lock.json']) {
    if (existsSync(file)) inputs.update(file).update(readFileSync(file));
  }
  const key = inputs.digest('hex');
  const keyFile = join(folder, 'inputs.sha1');
  if (!existsSync(keyFile) || readFileSync(keyFile, 'utf8') !== key) {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    writeFileSync(keyFile, key);
  }
  return { folder, strategy: 'content', compress: false };
}

const isLocal = (path) => !/(^|\/)node_modules\//.test(path);

/** Files of the repository that were checked (not packages, not unresolvable imports). */
export function checkedFiles(output) {
  return output.modules.filter((m) => isLocal(m.source) && !m.coreModule && !m.couldNotResolve).length;
}

function dependenciesOf(output, from, to) {
  const module = output.modules.find((m) => m.source === from);
  return module ? module.dependencies.filter((d) => d.resolved === to) : [];
}

/** The 1-based line of the first occurrence of the quoted specifier, or 0. */
function lineOf(file, specifier) {
  if (!specifier || !existsSync(file)) return 0;
  const quoted = ["'", '"', '`'].map((q) => `${q}${specifier}${q}`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((line) => quoted.some((q) => line.includes(q)));
  return index + 1;
}

function toViolation(v, output, project, settings) {
  const deps = dependenciesOf(output, v.from, v.to);
  const found = [...new Set(deps.map((d) => `${d.protocol ?? ''}${d.module}`))];
  const specifiers = found.length > 0 ? found : [v.unresolvedTo ?? v.to];
  const specifier = specifiers[0];
  // Packages resolve to machine-specific paths inside node_modules, core modules to their bare
  // name: show (and baseline) them as written.
  const isFile = isLocal(v.to) && !deps.some((d) => d.coreModule || d.couldNotResolve);
  const to = isFile ? v.to : specifier;
  const cycle = v.cycle ? [v.from, ...v.cycle.map((c) => c.name)] : undefined;
  const context = {
    from: v.from,
    to: v.to,
    fromP: classify(v.from, project),
    toP: classify(v.to, project),
    specifier,
    cycle: cycle ?? [],
    project,
    settings,
  };
  const meta = RULES[v.rule.name];
  return {
    rule: v.rule.name,
    from: v.from,
    line: lineOf(v.from, specifier),
    import: specifier,
    imports: specifiers,
    to,
    cycle,
    meaning: meta?.meaning ?? v.rule.name,
    fix: meta ? meta.fix(context) : '',
  };
}

// ---- baseline --------------------------------------------------------------------------------

export const baselineKey = (v) => `${v.rule}|${v.from}|${v.to}`;

export function readBaseline(file) {
  if (!existsSync(file)) return [];
  const entries = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(entries)) throw new Error(`${file} must hold a JSON array`);
  return entries;
}

export function writeBaseline(file, violations) {
  const entries = [...new Map(violations.map((v) => [baselineKey(v), { rule: v.rule, from: v.from, to: v.to }])).values()].sort((a, b) =>
    compare(baselineKey(a), baselineKey(b)),
  );
  writeFileSync(file, `${JSON.stringify(entries, null, 2)}\n`);
  return entries.length;
}

/** Splits violations into new ones and known ones; also returns baseline entries that are gone. */
export function applyBaseline(violations, baseline) {
  const known = new Set(baseline.map(baselineKey));
  const seen = new Set(violations.map(baselineKey));
  return {
    fresh: violations.filter((v) => !known.has(baselineKey(v))),
    known: violations.filter((v) => known.has(baselineKey(v))),
    gone: baseline.filter((e) => !seen.has(baselineKey(e))),
  };
}
