// Settings of the boundary check. The rules themselves are generated in rules.mjs from the folders
// found under libs/ and apps/, so adding libs/shipping needs no edit here.
// All paths are relative to the repository root (or to --root).
export default {
  // Folders that are scanned.
  scan: ['apps', 'libs', 'tools'],

  // Shared libs that are not business modules. Everyone may use them through their public entry
  // (libs/<name>/src/index.ts); they may not import a business module. Every other folder under
  // libs/ is a business module.
  platformLibs: ['platform'],

  // npm packages a contracts folder may import. Keep this to the schema library: contracts are
  // loaded by every process that sends or handles a message, so they must stay free of frameworks.
  schemaLibraries: ['zod'],

  // Files a contracts folder may import from the platform lib, as regexes on the resolved path.
  // Empty by default (strict). To let contracts wrap their schemas in the platform's message
  // envelope, add e.g. '^libs/platform/src/messaging/envelope[.]ts$' (see docs/boundaries.md).
  contractsMayImport: [],

  // Regexes of paths that are not checked at all. Do not add node_modules here: excluded paths
  // vanish from the graph, and contracts importing a framework would go unnoticed. node_modules is
  // not followed (see rules.mjs), which keeps it fast.
  exclude: ['^tools/boundary-check/fixtures/', '(^|/)dist/', '(^|/)coverage/', '(^|/)[.]data/'],

  // Known violations that do not fail the check (gradual adoption). Keep it empty in this repo.
  baseline: 'tools/boundary-check/baseline.json',

  // Where --graph writes the Mermaid picture of the modules.
  graph: 'docs/modules.md',

  // Reuse dependency-cruiser's result cache (node_modules/.cache/boundary-check) for unchanged
  // files. Off by default: on this repository start-up dominates and a cold cache (as in CI) is
  // slower; on a fork with thousands of files it cuts a local run by about two thirds. Same as
  // passing --cache. See the "Boundary check" section of docs/boundaries.md.
  cache: false,
};
