import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import path from 'node:path';

export const MAIN_JS = path.resolve(__dirname, '../../../dist/apps/monolith/src/main.js');
export const BILLING_SERVICE_JS = path.resolve(__dirname, '../../../dist/apps/billing-service/src/main.js');

/** A built app (apps/<app>/src/main.js in dist) as a child process, for tests that kill it. `npm test` builds first (pretest). */
export class AppProcess {
  private child?: ChildProcess;
  private readonly log: WriteStream;

  constructor(
    private readonly mainJs: string,
    private readonly env: Record<string, string>,
    logFile: string,
    /** The variable that holds its HTTP port (PORT, BILLING_PORT, ...). */
    private readonly portVariable = 'PORT',
    /** Its command-line arguments (apps/module-service takes the module's name). */
    private readonly args: readonly string[] = [],
  ) {
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run 'npm run build' (npm test does it for you).`);
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.env[this.portVariable]}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How it ended when it exited on its own (e.g. a handler that killed it); undefined while it runs or was never started. */
  get exitedWith(): NodeJS.Signals | number | undefined {
    const child = this.child;
    if (!child) return undefined;
    return child.signalCode ?? child.exitCode ?? undefined;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [this.mainJs, ...this.args], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (child.exitCode !== null)
        throw new Error(
          `${path.basename(path.dirname(path.dirname(this.mainJs)))} exited with ${child.exitCode} while starting; see the log`,
        );
      if (await this.ready()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.mainJs} did not become ready within 30 s`);
  }

  async ready(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/health/ready`)).ok;
    } catch {
      return false;
    }
  }

  /** SIGKILL: no drain, no cleanup; whatever was in flight must survive in the database. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM and wait for the drain to finish; returns the exit code. */
  async stop(): Promise<number | null> {
    return this.signal('SIGTERM');
  }

  /** Sends a signal without waiting for anything (e.g. SIGUSR2 to a preloaded reporter). */
  notify(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  private async signal(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    this.child = undefined;
    return code;
  }

  close(): void {
    this.child?.kill('SIGKILL');
    this.log.end();
  }
}

/** The built monolith as a child process. */
export class MonolithProcess extends AppProcess {
  constructor(env: Record<string, string>, logFile: string) {
    super(MAIN_JS, env, logFile);
  }
}
