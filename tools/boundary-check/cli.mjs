#!/usr/bin/env node
// npm run lint:boundaries [-- --update-baseline | --graph | --check-graph | --json | --root <dir>]
// Checks the module boundaries of this repository with dependency-cruiser. See docs/boundaries.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import settings from './config.mjs';
import { applyBaseline, checkedFiles, readBaseline, runCheck, writeBaseline } from './check.mjs';
import { renderGraph } from './graph.mjs';
import { RULE_NAMES } from './rules.mjs';
import { formatReport, makeStyle } from './report.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const program = new Command()
  .name('lint:boundaries')
  .description('Checks the module boundaries (docs/boundaries.md). Exits 1 on any violation that is not in the baseline.')
  .option('--root <dir>', 'repository to check', repoRoot)
  .option('--baseline <file>', 'known violations (relative to the root)', settings.baseline)
  .option('--update-baseline', 'write every current violation to the baseline, then exit 0')
  .option('--graph', `write the Mermaid module graph to ${settings.graph}`)
  .option('--check-graph', `also fail when ${settings.graph} is out of date`)
  .option('--json', 'print the result as JSON instead of text')
  .option('--cache', 'reuse the results for unchanged files (node_modules/.cache/boundary-check)', settings.cache)
  .allowExcessArguments(false)
  .showHelpAfterError()
  // exit 1 means "violations": a usage error is 2, like any other failure to run the check
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

async function main() {
  const opts = program.parse(process.argv).opts();
  const root = resolve(opts.root);
  // dependency-cruiser reports and matches paths relative to the working directory.
  process.chdir(root);
  const baselinePath = opts.baseline;
  const graphPath = settings.graph;
  const style = makeStyle(process.stdout);

  const { project, output, violations } = await runCheck(root, settings, { cache: opts.cache });
  const stats = {
    modules: project.modules.length,
    platformLibs: project.platformLibs.length,
    apps: project.apps.length,
    files: checkedFiles(output),
    ms: 0,
  };

  if (opts.updateBaseline) {
    mkdirSync(dirname(join(root, baselinePath)), { recursive: true });
    const n = writeBaseline(baselinePath, violations);
    console.log(`Wrote ${n} known violation${n === 1 ? '' : 's'} to ${baselinePath}.`);
    return 0;
  }

  let graphStale = false;
  if (opts.graph || opts.checkGraph) {
    const markdown = renderGraph(output, project, violations);
    const current = existsSync(graphPath) ? readFileSync(graphPath, 'utf8') : '';
    if (opts.graph) {
      mkdirSync(dirname(graphPath), { recursive: true });
      if (current !== markdown) writeFileSync(graphPath, markdown);
      if (!opts.json) console.log(`Wrote the module graph to ${graphPath}.`);
    } else if (current !== markdown) {
      graphStale = true;
    }
  }

  const baselineFile = isAbsolute(baselinePath) ? baselinePath : join(root, baselinePath);
  const { fresh, known, gone } = applyBaseline(violations, readBaseline(baselineFile));
  stats.ms = Math.round(performance.now());

  if (opts.json) {
    const ok = fresh.length === 0 && !graphStale;
    console.log(JSON.stringify({ ok, stats, rules: RULE_NAMES, violations: fresh, known, gone, graphStale }, null, 2));
  } else {
    console.log(formatReport({ fresh, known, gone, stats, baselinePath }, style));
    if (graphStale) {
      console.log(`${style('red', '✖')} ${graphPath} is out of date: run npm run lint:boundaries -- --graph and commit it.`);
    }
  }
  return fresh.length > 0 || graphStale ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`lint:boundaries could not run: ${error?.stack ?? error}`);
    process.exitCode = 2;
  },
);
