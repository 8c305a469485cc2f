import Table from 'cli-table3';
import { Command, CommanderError } from 'commander';
import { Pool } from 'pg';
import { ConfigError, loadConfig } from '../../config/app-config';
import { moduleConnectionUrl } from '../../database/module-database';
import { ModuleDb } from '../../database/module-db';
import { DeadLetters, MessagingModules, UnknownModuleError } from './dead-letters';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * The `messages` operator CLI (entry: apps/monolith/src/messages-cli.ts) over the outboxes of `modules`. Each
 * module's statements run as that module's own login role (derived from MODULE_DB_SECRET, as the app's), never as
 * an admin: whatever a module's schema holds runs with that module's rights only. Connects to DATABASE_URL, or to
 * the embedded server a running app owns (127.0.0.1:EMBEDDED_PG_PORT, database `monolith`); it never starts one.
 * `--json` prints machine-readable output. Returns the exit code: 0 done, 1 failed or not found, 2 usage error.
 */
export async function runMessagesCli(
  argv: string[],
  modules: readonly string[],
  io: CliIo = { env: process.env, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
): Promise<number> {
  const pools: Pool[] = [];
  let json = false;
  const connect = async (): Promise<DeadLetters> => {
    const config = loadConfig(io.env);
    const url = config.DATABASE_URL ?? `postgres://127.0.0.1:${config.EMBEDDED_PG_PORT}/monolith`;
    const settings = { url, roleSecret: config.MODULE_DB_SECRET, rolePrefix: config.DB_ROLE_PREFIX };
    const store = new MessagingModules();
    for (const module of modules) {
      const pool = new Pool({
        connectionString: moduleConnectionUrl(settings, module),
        max: 1,
        connectionTimeoutMillis: 5_000,
        application_name: 'monolith-first:messages-cli',
      });
      pool.on('error', () => undefined);
      pools.push(pool);
      store.add(new ModuleDb(module, pool));
    }
    try {
      if (modules.length > 0) await store.query(modules[0], 'SELECT 1');
    } catch (error) {
      throw new CliError(
        `Cannot connect to PostgreSQL at ${redact(url)} as the ${modules[0]} module (${(error as Error).message || (error as { code?: string }).code}). ` +
          `Set DATABASE_URL to the application's database and MODULE_DB_SECRET to the app's secret, or start the app (it runs the embedded ` +
          `server on EMBEDDED_PG_PORT) and try again.`,
      );
    }
    return new DeadLetters(store);
  };
  const print = (value: unknown, text: () => string) => io.out(json ? `${JSON.stringify(value, null, 2)}\n` : text());

  const program = new Command('messages')
    .description('Inspect and repair the messaging outboxes of every module.')
    .option('--json', 'print JSON instead of tables')
    .hook('preAction', (command) => void (json = Boolean(command.optsWithGlobals<{ json?: boolean }>().json)))
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const dead = program.command('dead-letters').description('Messages that failed for good.');

  dead
    .command('list')
    .description('List dead letters, newest first.')
    .option('--module <module>', 'only this module')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: { module?: string; limit: string }) => {
      const letters = await (await connect()).list({ module: opts.module, limit: positiveInt(opts.limit, '--limit') });
      print(letters, () => {
        if (letters.length === 0) return `No dead letters${opts.module ? ` in ${opts.module}` : ''}.\n`;
        const rows = table(['Module', 'Id', 'Type', 'Key', 'Attempts', 'Dead at', 'Last error']);
        for (const l of letters) rows.push([l.module, l.id, l.type, l.key, l.attempts, l.deadAt, shorten(l.lastError ?? '', 60)]);
        return `${rows.toString()}\n`;
      });
    });

  dead
    .command('show <module> <id>')
    .description('Show one dead letter: envelope, attempts and error history.')
    .action(async (module: string, id: string) => {
      const letter = await (await connect()).get(module, id);
      if (!letter) throw new CliError(`No dead letter ${id} in ${module}. List them with 'messages dead-letters list --module ${module}'.`);
      if (json) return print(letter, () => '');
      const facts = table();
      facts.push(
        { Module: letter.module },
        { Id: letter.id },
        { Type: letter.type },
        { Key: letter.key },
        { Attempts: String(letter.attempts) },
        { Created: letter.createdAt },
        { 'Dead at': letter.deadAt },
        { 'Last error': letter.lastError ?? '' },
      );
      const history = table(['#', 'At', 'Error'], { colWidths: [5, 26, 80], wordWrap: true });
      for (const e of letter.errors) history.push([e.attempt, e.at, e.error]);
      io.out(`${facts.toString()}\n${history.toString()}\nEnvelope:\n${JSON.stringify(letter.envelope, null, 2)}\n`);
    });

  for (const [name, verb, describe] of [
    ['requeue', 'Requeued', 'Put dead letters back in line (same message id; consumers that applied it already skip it).'],
    ['purge', 'Purged', 'Delete dead letters for good.'],
  ] as const) {
    dead
      .command(`${name} <module> [id]`)
      .description(describe)
      .option('--all', `${name} every dead letter of the module`)
      .action(async (module: string, id: string | undefined, opts: { all?: boolean }) => {
        if (!id === !opts.all) throw new CliError(`Give either a message id or --all: messages dead-letters ${name} ${module} <id>|--all`);
        const letters = await connect();
        const count = opts.all
          ? await (name === 'requeue' ? letters.requeueAll(module) : letters.purgeAll(module))
          : Number(await (name === 'requeue' ? letters.requeue(module, id!) : letters.purge(module, id!)));
        if (!opts.all && count === 0)
          throw new CliError(`No dead letter ${id} in ${module}. List them with 'messages dead-letters list --module ${module}'.`);
        print(
          { module, [name === 'requeue' ? 'requeued' : 'purged']: count },
          () => `${verb} ${count} dead letter${count === 1 ? '' : 's'} of ${module}.\n`,
        );
      });
  }

  program
    .command('outbox')
    .description('Outbox health.')
    .command('stats')
    .description('Pending, leased, retrying, delayed and dead messages, and the age of the oldest due message, per module.')
    .action(async () => {
      const stats = await (await connect()).stats();
      if (json) return print(stats, () => '');
      if (stats.length === 0) return io.out('No module has an outbox in this database.\n');
      const rows = table(['Module', 'Pending', 'Leased', 'Retrying', 'Delayed', 'Dead', 'Oldest pending']);
      for (const s of stats)
        rows.push([
          s.module,
          s.pending,
          s.leased,
          s.retrying,
          s.delayed,
          s.dead,
          s.oldestPendingMs === null ? '-' : duration(s.oldestPendingMs),
        ]);
      io.out(`${rows.toString()}\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2; // commander already printed help or the usage error
    if (error instanceof CliError || error instanceof UnknownModuleError || error instanceof ConfigError) {
      io.err(`${error.message}\n`);
      return 1;
    }
    io.err(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}

class CliError extends Error {}

/** Plain tables: no colour codes, so output stays readable in pipes, logs and files. */
function table(head: string[] = [], options: Table.TableConstructorOptions = {}): Table.Table {
  return new Table({ head, style: { head: [], border: [] }, ...options });
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new CliError(`${name} must be a whole number from 1 to 500, got '${value}'.`);
  return n;
}

function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function duration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
