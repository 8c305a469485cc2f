// The code under test: the built apps in dist/, copied at start so that a rebuild by someone else during a
// benchmark or a drill cannot change the code half-way through, and the commit they were built from.
import { spawnSync } from 'node:child_process';
import { cpSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './infra.mjs';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MONOLITH_MAIN = 'dist/apps/monolith/src/main.js';
const BILLING_MAIN = 'dist/apps/billing-service/src/main.js';
const MIGRATE_MAIN = 'dist/apps/monolith/src/migrate.js';
export const MONOLITH_JS = path.join(repo, MONOLITH_MAIN);
export const BILLING_JS = path.join(repo, BILLING_MAIN);

/** A copy of dist/ (node_modules is linked, not copied), removed at cleanup. */
export function snapshotDist() {
  const dir = tempDir('monolith-first-dist-');
  cpSync(path.join(repo, 'dist'), path.join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return {
    dist: path.join(dir, 'dist'),
    monolith: path.join(dir, MONOLITH_MAIN),
    billing: path.join(dir, BILLING_MAIN),
    migrate: path.join(dir, MIGRATE_MAIN),
  };
}

/** The commit the apps were built from, and whether the working tree had changes on top of it. */
export function codeVersion() {
  const git = (args) => spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
  const sha = git(['rev-parse', '--short', 'HEAD']).stdout?.trim();
  if (!sha) return 'unknown (not a git checkout)';
  const dirty = git(['status', '--porcelain', '--', 'apps', 'libs']).stdout?.trim();
  return `${sha}${dirty ? ' plus uncommitted changes in apps/ and libs/' : ''}`;
}
