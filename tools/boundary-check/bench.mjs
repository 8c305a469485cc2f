#!/usr/bin/env node
// Measures the wall time of the boundary check, as a developer or CI sees it (a fresh `node`
// process each time, like `npm run lint:boundaries` minus npm's own start-up).
//   node tools/boundary-check/bench.mjs                      # this repository, 10 runs
//   node tools/boundary-check/bench.mjs --synthetic 10x200   # a generated fork: 10 modules of 200 files
//   node tools/boundary-check/bench.mjs --runs 20
//   add --keep to keep the generated fork (its path is printed)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const runs = Number(value('--runs', '10'));
const synthetic = value('--synthetic', null);

/** A fork-sized copy of the layout: `modules` business modules of `files` files each, plus an app. */
function generate(modules, files) {
  const root = mkdtempSync(join(tmpdir(), 'boundary-bench-'));
  cpSync(join(here, 'fixtures', 'base'), root, { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  const paths = { '@app/platform': ['./libs/platform/src'] };
  const imports = [];
  for (let m = 0; m < modules; m++) {
    const name = `mod${m}`;
    const src = join(root, 'libs', name, 'src');
    paths[`@app/${name}`] = [`./libs/${name}/src`];
    paths[`@app/${name}/contracts`] = [`./libs/${name}/src/contracts`];
    const write = (file, text) => {
      mkdirSync(dirname(join(src, file)), { recursive: true });
      writeFileSync(join(src, file), text);
    };
    const other = m > 0 ? `import { Event${m - 1} } from '@app/mod${m - 1}/contracts';\n` : '';
    write('contracts/index.ts', `import { z } from 'zod';\n${other}export const Event${m} = z.object({ id: z.string() });\n`);
    for (let f = 0; f < files; f++) {
      const next = f + 1 < files ? `import { f${f + 1} } from './f${f + 1}';\n` : '';
      const type = f > 0 ? `import type { T${f - 1} } from './f${f - 1}';\n` : '';
      write(
        `domain/f${f}.ts`,
        `import { Injectable } from '@nestjs/common';\nimport { OutboxService } from '@app/platform';\nimport { Event${m} } from '../contracts';\n` +
          `${next}${type}export type T${f} = { n: number };\n@Injectable()\nexport class S${f} { constructor(readonly o: OutboxService) {} }\n` +
          `export const f${f} = (): unknown => Event${m};\n`,
      );
    }
    write('index.ts', `export { f0 } from './domain/f0';\n`);
    imports.push(`import { f0 as m${m} } from '@app/${name}';\nexport const use${m} = m${m};\n`);
  }
  writeFileSync(join(root, 'apps', 'monolith', 'src', 'modules.ts'), imports.join(''));
  const tsconfig = { compilerOptions: { module: 'commonjs', moduleResolution: 'bundler', paths: { ...paths, '@app/*': ['./libs/*'] } } };
  for (const lib of ['orders', 'billing', 'shipping']) {
    tsconfig.compilerOptions.paths[`@app/${lib}`] = [`./libs/${lib}/src`];
    tsconfig.compilerOptions.paths[`@app/${lib}/contracts`] = [`./libs/${lib}/src/contracts`];
  }
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  return root;
}

const root = synthetic ? generate(...synthetic.split('x').map(Number)) : repo;
const cli = join(here, 'cli.mjs');
const times = [];
let last = '';
for (let i = 0; i <= runs; i++) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, '--root', root], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  last = result.stdout.trim().split('\n').pop();
  if (i > 0) times.push(ms); // the first run warms the OS file cache
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(last);
console.log(
  `${runs} runs on ${synthetic ? `a synthetic fork (${synthetic})` : 'this repository'}: ` +
    `median ${Math.round(median)} ms, min ${Math.round(times[0])} ms, max ${Math.round(times.at(-1))} ms`,
);
if (synthetic && args.includes('--keep')) console.log(`kept ${root}`);
else if (synthetic) rmSync(root, { recursive: true, force: true });
