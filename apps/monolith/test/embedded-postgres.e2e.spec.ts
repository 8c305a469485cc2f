import { freePort } from '@app/platform';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { MAIN_JS } from './monolith-process';

/** The built monolith on its embedded PostgreSQL (no DATABASE_URL), as `npm start` runs it: started, signalled, killed. */
class App {
  readonly output: string[] = [];
  private child?: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(
    readonly port: number,
    env: Record<string, string>,
  ) {
    const child = spawn(process.execPath, [MAIN_JS], {
      env: { ...process.env, DATABASE_URL: '', NODE_ENV: 'development', LOG_FORMAT: 'json', PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child!.pid!;
  }

  log(): string {
    return this.output.join('');
  }

  async ready(): Promise<void> {
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(100)) {
      if (this.child?.exitCode !== null) throw new Error(`the app exited while starting:\n${this.log()}`);
      const ok = await fetch(`http://127.0.0.1:${this.port}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
    }
    throw new Error(`not ready within 60 s:\n${this.log()}`);
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** A request whose body never finishes: the drain waits for it. */
  async hangingRequest(): Promise<Socket> {
    const socket = connect(this.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /billing/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"cust');
    await sleep(200);
    return socket;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function gone(pid: number): Promise<boolean> {
  for (const until = Date.now() + 30_000; Date.now() < until; await sleep(100)) if (!isAlive(pid)) return true;
  return false;
}
async function canQuery(url: string): Promise<true | string> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('the embedded PostgreSQL across the life of the app (built monolith, no DATABASE_URL)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'monolith-first-embedded-'));
  chmodSync(dataDir, 0o755); // as root, PostgreSQL runs as the 'postgres' user, which must enter it
  const pgDir = path.join(dataDir, 'postgres');
  const passwordFile = `${pgDir}.password`;
  const postmasterPid = () => Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const superuser = (password: string) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/postgres`;
  let pgPort: number;
  let env: Record<string, string>;
  const apps: App[] = [];
  const app = async (extra: Record<string, string> = {}) => {
    const started = new App(await freePort(), { ...env, ...extra });
    apps.push(started);
    return started;
  };

  beforeAll(async () => {
    pgPort = await freePort();
    env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) };
  });
  afterAll(async () => {
    for (const a of apps) a.signal('SIGKILL');
    await sleep(200);
    if (existsSync(path.join(pgDir, 'postmaster.pid')) && isAlive(postmasterPid())) process.kill(postmasterPid(), 'SIGINT');
    rmSync(dataDir, { recursive: true, force: true });
  });

  let first: App;

  it("gives the superuser a random password, kept in DATA_DIR/postgres.password (0600); 'postgres' is refused", async () => {
    first = await app();
    await first.ready();
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(await canQuery(superuser(readFileSync(passwordFile, 'utf8').trim()))).toBe(true);
    expect(await canQuery(superuser('postgres'))).toBe('28P01');
  });

  it('refuses a second app on the same DATA_DIR with a clear message, and the first keeps running', async () => {
    const second = await app();
    expect(await second.exited).not.toBe(0);
    expect(second.log()).toMatch(new RegExp(`is in use by another running instance \\(pid ${first.pid} `));
    expect(second.log()).toMatch(/give this one its own DATA_DIR/);
    await first.ready();
  });

  it('after a SIGKILL of the app, stops the orphaned PostgreSQL and starts again', async () => {
    const orphan = postmasterPid();
    first.signal('SIGKILL');
    await first.exited;
    expect(isAlive(orphan)).toBe(true); // PostgreSQL outlives a SIGKILLed parent
    const restarted = await app();
    await restarted.ready();
    expect(restarted.log()).toMatch(new RegExp(`A PostgreSQL \\(pid ${orphan}\\) left running by an earlier crash`));
    expect(isAlive(orphan)).toBe(false);
    restarted.signal('SIGTERM');
    expect(await restarted.exited).toBe(0);
    expect(existsSync(`${pgDir}.lock`)).toBe(false);
  });

  it("migrates a data directory that still has the old password 'postgres'", async () => {
    const before = await app();
    await before.ready();
    const client = new Client({ connectionString: superuser(readFileSync(passwordFile, 'utf8').trim()) });
    await client.connect();
    await client.query(`ALTER ROLE postgres WITH PASSWORD 'postgres'`); // as the earlier code initialised it
    await client.end();
    before.signal('SIGTERM');
    expect(await before.exited).toBe(0);
    unlinkSync(passwordFile);

    const after = await app();
    await after.ready();
    const password = readFileSync(passwordFile, 'utf8').trim();
    expect(password).not.toBe('postgres');
    expect(await canQuery(superuser(password))).toBe(true);
    expect(await canQuery(superuser('postgres'))).toBe('28P01');
    after.signal('SIGTERM');
    expect(await after.exited).toBe(0);
  });

  it('stops PostgreSQL when the drain times out', async () => {
    const slow = await app({ SHUTDOWN_TIMEOUT_MS: '500' });
    await slow.ready();
    const pg = postmasterPid();
    const socket = await slow.hangingRequest();
    slow.signal('SIGTERM');
    expect(await slow.exited).toBe(1);
    socket.destroy();
    expect(slow.log()).toMatch(/Drain took longer than 500 ms/);
    expect(await gone(pg)).toBe(true);
  });

  it('stops PostgreSQL on a second signal', async () => {
    const impatient = await app();
    await impatient.ready();
    const pg = postmasterPid();
    const socket = await impatient.hangingRequest();
    impatient.signal('SIGTERM');
    await sleep(300);
    impatient.signal('SIGINT');
    expect(await impatient.exited).toBe(1);
    socket.destroy();
    expect(impatient.log()).toMatch(/SIGINT again: exiting without waiting/);
    expect(await gone(pg)).toBe(true);
  });

  it('leaves alone a live process that a stale postmaster.pid names (its pid reused after a reboot)', async () => {
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(path.join(pgDir, 'postmaster.pid'), `${unrelated.pid}\n${pgDir}\n`);
      const started = await app();
      await started.ready();
      expect(started.log()).toMatch(/not this directory's PostgreSQL: removing the stale file/);
      expect(unrelated.exitCode).toBeNull();
      expect(unrelated.signalCode).toBeNull();
      started.signal('SIGTERM');
      expect(await started.exited).toBe(0);
    } finally {
      unrelated.kill('SIGKILL');
    }
  });
});
