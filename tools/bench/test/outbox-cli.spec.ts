// `npm run bench:outbox` end to end on a tiny run: the relay and a peer on one server, the tables, the target lines,
// and --write touching only its section. Needs dist/ (npm test builds it). No timings are asserted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_SERVER_ENV } from '@app/platform/src/testing/test-database';

const repo = path.resolve(__dirname, '../../..');
const RELAY_JS = path.join(repo, 'dist/libs/platform/src/messaging/bench/outbox.bench.js');

describe('npm run bench:outbox', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(RELAY_JS)) throw new Error(`${RELAY_JS} is missing: run 'npx nest build' (npm test does it).`);
    dir = mkdtempSync(path.join(tmpdir(), 'bench-outbox-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the relay beside pg-boss, prints the tables and the targets, and rewrites only its section', () => {
    const doc = path.join(dir, 'benchmarks.md');
    writeFileSync(doc, '# Before\n\n<!-- bench:outbox:start -->\n\nold figures\n\n<!-- bench:outbox:end -->\n\n## After\n');
    const r = spawnSync(
      process.execPath,
      [
        path.join(repo, 'tools/bench/outbox.mjs'),
        ...['--database-url', process.env[TEST_SERVER_ENV]!, '--tools', 'outbox relay,pg-boss', '--no-per-key', '--no-warmup'],
        ...['--rounds', '1', '--messages', '300', '--keys', '30', '--rate', '50', '--seconds', '1', '--peer-rate', '0'],
        ...['--write', '--out', doc],
      ],
      { encoding: 'utf8', timeout: 150_000 },
    );
    expect(r.stderr).not.toContain('FAILED');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('**Backlog: 300 messages over 30 keys**');
    expect(r.stdout).toContain('**Open loop: 50 msg/s offered for 1 s**');
    expect(r.stdout).toMatch(/\| outbox relay \| [\d.]+ \| per key, across handlers \| [\d,]+ \|/);
    expect(r.stdout).toMatch(/\| pg-boss \| 10\.4\.\d+ \| none \| [\d,]+ \|/);
    expect(r.stdout).toMatch(/- \*\*(PASS|MISS)\*\* relay backlog msg\/s ≥ pg-boss's: ours ÷ pg-boss = [\d.]+/);
    expect(r.stdout).toContain('**N/A** relay commit → handler p99 ≤ 5 ms at 1,000 msg/s in-process: not measured');
    const written = readFileSync(doc, 'utf8');
    expect(written).toMatch(/^# Before\n/);
    expect(written).toContain('## After');
    expect(written).not.toContain('old figures');
    expect(written).toContain('| outbox relay |');
  }, 160_000);
});
