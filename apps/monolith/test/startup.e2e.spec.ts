import { LateServer, appDatabaseEnv, createTestDatabase, freePort, type TestDatabase } from '@app/platform';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAIN_JS } from './monolith-process';

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The built monolith run from `cwd` (where its .env is), its output kept. PORT is never inherited from the test run. */
function startMonolith(cwd: string, env: Record<string, string>): Started {
  const { PORT: _port, ...inherited } = process.env;
  const child = spawn(process.execPath, [MAIN_JS], { cwd, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if (await condition()) return true;
  }
  return false;
}

const ready = (port: number) => () =>
  fetch(`http://127.0.0.1:${port}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );

describe('starting the built monolith', () => {
  let db: TestDatabase;
  let dir: string;
  let late: LateServer;
  beforeAll(async () => {
    db = await createTestDatabase('startup');
  });
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mf-startup-'));
    late = new LateServer(await freePort(), new URL(db.url));
  });
  afterEach(async () => {
    await late.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => db?.drop());

  it('reads ./.env (the environment winning), waits for a PostgreSQL that comes up late, then serves', async () => {
    const port = await freePort();
    writeFileSync(path.join(dir, '.env'), `PORT=${port}\nLOG_FORMAT=pretty\nSTARTUP_RETRY_MS=30000\n`);
    const app = startMonolith(dir, {
      ...appDatabaseEnv(db),
      DATABASE_URL: late.url(),
      DATABASE_ADMIN_URL: late.url(),
      NODE_ENV: 'test',
      LOG_FORMAT: 'json', // wins over the file's pretty
    });
    try {
      // PostgreSQL comes up once the monolith is waiting for it, however long Node takes to boot here
      expect(await until(() => app.output().includes('Waiting for PostgreSQL'), 30_000)).toBe(true);
      await late.appearAfter(0);
      expect(await until(ready(port), 30_000)).toBe(true); // PORT came from .env
      const lines = app
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { context?: string; message: string });
      expect(lines.find((l) => l.context === 'Startup')?.message).toMatch(/^Waiting for PostgreSQL at postgres:\/\/.*: .*ECONNREFUSED/);
      app.child.kill('SIGTERM');
      expect(await app.exited).toBe(0);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('with STARTUP_RETRY_MS=0 and no PostgreSQL, exits at once saying where it looked and what to do', async () => {
    const app = startMonolith(dir, {
      ...appDatabaseEnv(db),
      DATABASE_URL: late.url(),
      DATABASE_ADMIN_URL: late.url(),
      PORT: String(await freePort()),
      STARTUP_RETRY_MS: '0',
    });
    expect(await app.exited).toBe(1);
    expect(app.output()).toMatch(/PostgreSQL at postgres:\/\/.*127\.0\.0\.1:\d+.* did not accept a connection: .*ECONNREFUSED/);
    expect(app.output()).not.toContain('Waiting for');
  });
});
