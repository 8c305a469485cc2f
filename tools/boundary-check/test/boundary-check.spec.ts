// Tests of `npm run lint:boundaries` (tools/boundary-check/cli.mjs).
//
// fixtures/base is a tiny, clean copy of the repository layout (apps, business modules, the
// platform lib, tools, a tsconfig with the same aliases). Every folder in fixtures/cases holds
// files to plant on top of it; the first line of each planted file says what the check must
// report for it:  `// expect: <rule>[, <rule>]`  or  `// expect: pass`.
// The CLI is ESM-only (dependency-cruiser is), so it is run as a child process.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Each case spawns `node cli.mjs` (about 1 s); a busy 2-core machine needs more than Jest's 5 s default.
jest.setTimeout(60_000);

const TOOL = path.resolve(__dirname, '..');
const REPO = path.resolve(TOOL, '..', '..');
const CLI = path.join(TOOL, 'cli.mjs');
const BASE = path.join(TOOL, 'fixtures', 'base');
const CASES = path.join(TOOL, 'fixtures', 'cases');

interface Violation {
  rule: string;
  from: string;
  line: number;
  import: string;
  to: string;
  cycle?: string[];
  meaning: string;
  fix: string;
}
interface JsonReport {
  ok: boolean;
  rules: string[];
  violations: Violation[];
  known: Violation[];
  gone: unknown[];
}
interface Planted {
  file: string; // relative to the repository root, forward slashes
  expected: string[]; // [] = must pass
}
interface Case {
  name: string;
  files: Planted[];
  // a case that replaces a file of the base runs on its own
  isolated: boolean;
}

function filesUnder(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(path.join(dir, entry.name), rel) : [rel];
  });
}

function loadCases(): Case[] {
  return fs
    .readdirSync(CASES)
    .sort()
    .map((name) => {
      const files = filesUnder(path.join(CASES, name)).map((file) => {
        const firstLine = fs.readFileSync(path.join(CASES, name, file), 'utf8').split('\n')[0];
        const match = /^\/\/ expect: (.+)$/.exec(firstLine);
        if (!match) throw new Error(`fixtures/cases/${name}/${file} must start with "// expect: <rule>" or "// expect: pass"`);
        const expected = match[1] === 'pass' ? [] : match[1].split(',').map((r) => r.trim());
        return { file, expected };
      });
      return { name, files, isolated: files.some((f) => fs.existsSync(path.join(BASE, f.file))) };
    });
}

const tempRoots: string[] = [];

/** A copy of the base fixture with the given cases planted, in a temp dir. */
function makeRepo(cases: string[] = []): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boundary-check-'));
  tempRoots.push(root);
  fs.cpSync(BASE, root, { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  for (const name of cases) fs.cpSync(path.join(CASES, name), root, { recursive: true });
  return root;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cliArgs(root: string | undefined, args: string[]): string[] {
  return [CLI, ...(root ? ['--root', root] : []), ...args];
}

const crashed = (run: Run) => run.status === 2 || run.status === null;
const crashMessage = (run: Run) => `lint:boundaries crashed (${run.status})\n${run.stdout}\n${run.stderr}`;

function checked(run: Run): Run {
  if (crashed(run)) throw new Error(crashMessage(run));
  return run;
}

const env = { ...process.env, NO_COLOR: '1' };

/** Runs the CLI and waits for it. */
function lint(root: string | undefined, ...args: string[]): Run {
  const result = spawnSync(process.execPath, cliArgs(root, args), { encoding: 'utf8', env, timeout: 60_000 });
  return checked({ status: result.status, stdout: result.stdout, stderr: result.stderr });
}

/** Runs the CLI in the background, so that independent runs share the two cores. */
function lintAsync(root: string | undefined, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(root, args), { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      const run = { status, stdout, stderr };
      if (crashed(run)) reject(new Error(crashMessage(run)));
      else resolve(run);
    });
  });
}

const parseJson = ({ status, stdout }: Run) => ({ status, report: JSON.parse(stdout) as JsonReport });

function lintJson(root: string, ...args: string[]): { status: number | null; report: JsonReport } {
  return parseJson(lint(root, '--json', ...args));
}

/** A violation concerns a file when it comes from it or the file is part of its cycle. */
const concerns = (v: Violation, file: string) => v.from === file || (v.cycle ?? []).includes(file);
const rulesFor = (violations: Violation[], file: string) =>
  [...new Set(violations.filter((v) => concerns(v, file)).map((v) => v.rule))].sort();

afterAll(() => {
  for (const root of tempRoots) fs.rmSync(root, { recursive: true, force: true });
});

const cases = loadCases();

describe('lint:boundaries', () => {
  let clean: Run;
  let real: Run;
  let combined: { status: number | null; report: JsonReport };
  const isolated = new Map<string, { status: number | null; report: JsonReport }>();

  beforeAll(async () => {
    // One cruise over all cases that only add files; the few that replace a base file run alone.
    const alone = cases.filter((c) => c.isolated);
    const runs = await Promise.all([
      lintAsync(undefined),
      lintAsync(makeRepo()),
      lintAsync(makeRepo(cases.filter((c) => !c.isolated).map((c) => c.name)), '--json'),
      ...alone.map((c) => lintAsync(makeRepo([c.name]), '--json')),
    ]);
    [real, clean] = runs;
    combined = parseJson(runs[2]);
    alone.forEach((c, i) => isolated.set(c.name, parseJson(runs[i + 3])));
  });

  it('passes on this repository', () => {
    expect(real.stdout).toContain('no boundary violations');
    expect(real.status).toBe(0);
  });

  it('passes on the clean base fixture', () => {
    const { status, stdout } = clean;
    expect(stdout).toMatch(/✔ 3 modules \+ 1 platform lib, 2 apps, \d+ files checked in \d+ ms, no boundary violations/);
    expect(status).toBe(0);
  });

  it('fails when violations are planted', () => {
    expect(combined.status).toBe(1);
    expect(combined.report.ok).toBe(false);
    for (const { status } of isolated.values()) expect(status).toBe(1);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: reports exactly the expected rules', (_name, c) => {
    const { report } = isolated.get(c.name) ?? combined;
    for (const planted of c.files) {
      expect({ file: planted.file, rules: rulesFor(report.violations, planted.file) }).toEqual({
        file: planted.file,
        rules: [...planted.expected].sort(),
      });
    }
  });

  it('reports nothing that is not caused by a planted file', () => {
    const planted = cases.filter((c) => !c.isolated).flatMap((c) => c.files.map((f) => f.file));
    const stray = combined.report.violations.filter((v) => !planted.some((file) => concerns(v, file)));
    expect(stray).toEqual([]);
  });

  it('has a failing case for every rule, each with a meaning and a fix', () => {
    const all = [combined, ...isolated.values()].flatMap((r) => r.report.violations);
    expect([...new Set(all.map((v) => v.rule))].sort()).toEqual([...combined.report.rules].sort());
    for (const v of all) {
      expect(v.meaning.length).toBeGreaterThan(20);
      expect(v.fix.length).toBeGreaterThan(20);
    }
  });

  it('gives the line of the offending import and a tailored fix', () => {
    const v = combined.report.violations.find((x) => x.from === 'libs/orders/src/domain/alias-deep-import.ts');
    expect(v).toMatchObject({
      rule: 'module-via-contracts-only',
      line: 2,
      import: '@app/billing/src/domain/invoice',
      to: 'libs/billing/src/domain/invoice.ts',
    });
    expect(v?.fix).toContain("orders may only use billing's published contracts: import from '@app/billing/contracts'");
    expect(v?.fix).toContain('publish this as a message in libs/billing/src/contracts and handle it in orders');
  });
});

describe('lint:boundaries output', () => {
  it('names the file, the import, the rule and the fix; removing the import passes again', () => {
    const root = makeRepo(['jest-mock']);
    const failing = lint(root);
    expect(failing.status).toBe(1);
    expect(failing.stdout).toContain('✖ libs/orders/test/jest-mock.spec.ts:2');
    expect(failing.stdout).toContain("import  '@app/billing/src/billing.service'  ->  libs/billing/src/billing.service.ts");
    expect(failing.stdout).toContain('rule    module-via-contracts-only: ');
    expect(failing.stdout).toContain("fix     orders may only use billing's published contracts");
    expect(failing.stdout).toMatch(/✖ 1 boundary violation of 1 rule in 1 file/);

    fs.rmSync(path.join(root, 'libs/orders/test/jest-mock.spec.ts'));
    const passing = lint(root);
    expect(passing.stdout).toContain('no boundary violations');
    expect(passing.status).toBe(0);
  });
});

describe('lint:boundaries baseline', () => {
  it('tolerates known violations and fails on new ones', () => {
    const root = makeRepo(['alias-deep-import']);
    const baseline = path.join(root, 'tools/boundary-check/baseline.json');
    const update = lint(root, '--update-baseline');
    expect(update.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(baseline, 'utf8'))).toEqual([
      {
        rule: 'module-via-contracts-only',
        from: 'libs/orders/src/domain/alias-deep-import.ts',
        to: 'libs/billing/src/domain/invoice.ts',
      },
    ]);

    const known = lint(root);
    expect(known.stdout).toContain('no boundary violations (1 known violation in tools/boundary-check/baseline.json not counted)');
    expect(known.status).toBe(0);

    fs.cpSync(path.join(CASES, 'reexport-star'), root, { recursive: true });
    const fresh = lintJson(root);
    expect(fresh.status).toBe(1);
    expect(fresh.report.violations.map((v) => [v.rule, v.from])).toEqual([
      ['module-via-contracts-only', 'libs/orders/src/domain/reexport-star.ts'],
    ]);
    expect(fresh.report.known).toHaveLength(1);

    fs.rmSync(path.join(root, 'libs/orders/src/domain/reexport-star.ts'));
    fs.rmSync(path.join(root, 'libs/orders/src/domain/alias-deep-import.ts'));
    const fixed = lint(root);
    expect(fixed.status).toBe(0);
    expect(fixed.stdout).toContain('1 baseline entry no longer found: shrink the baseline with --update-baseline');
  });

  it('is committed empty in this repository', () => {
    expect(JSON.parse(fs.readFileSync(path.join(TOOL, 'baseline.json'), 'utf8'))).toEqual([]);
  });
});

describe('lint:boundaries --graph', () => {
  it('writes a deterministic Mermaid graph of apps and modules and detects when it is stale', () => {
    const root = makeRepo();
    const docs = path.join(root, 'docs/modules.md');
    expect(lint(root, '--graph').status).toBe(0);
    const markdown = fs.readFileSync(docs, 'utf8');
    expect(markdown).toContain('```mermaid\nflowchart LR');
    expect(markdown).toContain('apps_monolith["apps/monolith"]');
    expect(markdown).toContain('libs_shipping["libs/shipping"]');
    expect(markdown).toContain('apps_monolith --> libs_orders');
    expect(markdown).toContain('apps_billing_service --> libs_billing');
    expect(markdown).toContain('libs_orders -.->|contracts| libs_billing');
    expect(markdown).toContain('libs_orders --> libs_platform');
    expect(markdown).not.toContain('tools_');
    // `npm run lint` runs `prettier --check .` over docs/: the generated file must already be formatted
    const prettier = spawnSync(
      process.execPath,
      [path.join(REPO, 'node_modules/prettier/bin/prettier.cjs'), '--config', path.join(REPO, '.prettierrc'), '--check', docs],
      { encoding: 'utf8' },
    );
    expect(prettier.stderr + prettier.stdout).toContain('All matched files use Prettier code style!');

    // rendering again gives the same file
    expect(lint(root, '--check-graph').status).toBe(0);

    // a new, allowed dependency: shipping now uses the contracts of orders and billing
    fs.cpSync(path.join(CASES, 'contracts-from-module-allowed'), root, { recursive: true });
    const stale = lint(root, '--check-graph');
    expect(stale.status).toBe(1);
    expect(stale.stdout).toContain('docs/modules.md is out of date');
    expect(lint(root, '--graph').status).toBe(0);
    expect(fs.readFileSync(docs, 'utf8')).toContain('libs_shipping -.->|contracts| libs_orders');
  });
});

describe('lint:boundaries --cache', () => {
  it('reuses results, but notices changed files and a changed tsconfig.json', () => {
    const root = makeRepo();
    const cacheDir = path.join(REPO, 'node_modules/.cache/boundary-check', createHash('sha1').update(root).digest('hex').slice(0, 12));
    try {
      expect(lint(root, '--cache').status).toBe(0);
      expect(fs.existsSync(path.join(cacheDir, 'cache.json'))).toBe(true);
      expect(lint(root, '--cache').status).toBe(0);

      fs.cpSync(path.join(CASES, 'alias-deep-import'), root, { recursive: true });
      expect(lintJson(root, '--cache').report.violations.map((v) => v.rule)).toEqual(['module-via-contracts-only']);
      fs.rmSync(path.join(root, 'libs/orders/src/domain/alias-deep-import.ts'));

      const tsconfigPath = path.join(root, 'tsconfig.json');
      const tsconfig = JSON.parse(fs.readFileSync(tsconfigPath, 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };
      delete tsconfig.compilerOptions.paths['@app/*'];
      fs.writeFileSync(tsconfigPath, JSON.stringify(tsconfig));
      const { status, report } = lintJson(root, '--cache');
      expect(status).toBe(1);
      expect(report.violations.map((v) => [v.rule, v.import])).toContainEqual(['not-to-unresolvable', '@app/billing']);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
