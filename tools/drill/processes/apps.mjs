// The built apps as child processes, started the way an operator would: a clean environment (nothing of the
// drill's own shell, such as DATABASE_URL, leaks in), their public HTTP API, SIGTERM to stop. Every SIGTERM is
// judged: the process must exit 0 and log 'Stopped cleanly'.
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { Child, waitReady } from '../../harness/infra.mjs';

/** What the host logs as its last line of a clean drain (libs/platform/src/host/host.ts). */
export const STOPPED_CLEANLY = 'Stopped cleanly';

export function baseEnv(extra) {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
  return { ...Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])), ...extra };
}

export class App {
  /** drains: where every SIGTERM's outcome is recorded; exits: where exits nobody asked for are recorded. */
  constructor({ name, main, env, port, logFile, drains, exits }) {
    this.name = name;
    this.main = main;
    this.env = env;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.logFile = logFile;
    this.drains = drains;
    this.exits = exits;
    this.starts = 0;
  }

  get running() {
    return Boolean(this.child?.running);
  }

  /** Exited without the drill asking (a crash, or a handler that killed it). */
  get died() {
    return this.child?.died;
  }

  async start() {
    this.starts++;
    appendFileSync(this.logFile, `--- drill: start #${this.starts} of ${this.name} at ${new Date().toISOString()} ---\n`);
    this.child = new Child(this.name, process.execPath, [this.main], { inheritEnv: false, env: this.env, logFile: this.logFile });
    await waitReady(this.child, `${this.url}/health/ready`, 90_000);
  }

  async kill9() {
    await this.child?.kill('SIGKILL');
  }

  /** SIGTERM; records whether it drained (exit 0 and 'Stopped cleanly' in what it logged since). */
  async stop(context) {
    if (!this.running) return null;
    const from = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const started = Date.now();
    const { code, signal } = await this.child.stop(30_000);
    const said = readFileSync(this.logFile).subarray(from).toString('utf8');
    const drain = { app: this.name, context, code, signal, ms: Date.now() - started, clean: code === 0 && said.includes(STOPPED_CLEANLY) };
    this.drains.push(drain);
    return drain;
  }

  /** If it died on its own: records it and starts it again (the drill acts as the supervisor). */
  async reviveIfDied(context) {
    if (!this.child?.died) return false;
    const died = this.child.died;
    this.child.died = undefined;
    this.exits.push({ app: this.name, context, ...died });
    await this.start();
    return true;
  }
}
