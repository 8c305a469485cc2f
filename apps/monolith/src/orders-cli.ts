import 'reflect-metadata';
import { loadConfig, runCli } from '@app/platform';
import Table from 'cli-table3';
import { Command, CommanderError } from 'commander';

/**
 * `orders`: the operators' CLI for orders parked for attention. It talks to a running app's admin API (the retry
 * must run where the saga and its outbox run), as `Authorization: Bearer ADMIN_TOKEN`.
 *   node dist/apps/monolith/src/orders-cli.js [--url http://127.0.0.1:3000] [--json] attention [--limit n]
 *   node dist/apps/monolith/src/orders-cli.js retry <order id>
 * Returns the exit code: 0 done, 1 failed (the problem's detail is printed), 2 usage error.
 */
export async function main(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
  io = { out: (t: string) => void process.stdout.write(t), err: (t: string) => void process.stderr.write(t) },
): Promise<number> {
  const config = loadConfig(env);
  let failed = false;
  const program = new Command('orders')
    .description('Orders that need an operator: list them, retry them.')
    .option('--url <url>', 'the running app', `http://127.0.0.1:${config.PORT}`)
    .option('--json', 'print JSON instead of a table')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const call = async (method: 'GET' | 'POST', path: string): Promise<unknown> => {
    if (!config.ADMIN_TOKEN)
      throw new Error('ADMIN_TOKEN is not set: the CLI uses the admin API, which needs it. Set it as the app has it.');
    const { url } = program.opts<{ url: string }>();
    const response = await fetch(new URL(path, url), { method, headers: { authorization: `Bearer ${config.ADMIN_TOKEN}` } }).catch(
      (error: Error) => {
        throw new Error(`Cannot reach the app at ${url} (${error.message}). Start it, or pass --url.`);
      },
    );
    const body = (await response.json().catch(() => ({}))) as { detail?: string };
    if (!response.ok) throw new Error(`${method} ${path} failed with ${response.status}: ${body.detail ?? response.statusText}`);
    return body;
  };
  const json = () => Boolean(program.opts<{ json?: boolean }>().json);

  program
    .command('attention')
    .description('List orders parked for attention, oldest first.')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: { limit: string }) => {
      const list = (await call('GET', `/admin/orders/attention?limit=${encodeURIComponent(opts.limit)}`)) as { items: Parked[] };
      if (json()) return io.out(`${JSON.stringify(list.items, null, 2)}\n`);
      if (list.items.length === 0) return io.out('No order needs attention.\n');
      const table = new Table({ head: ['Order', 'Status', 'Step', 'Since', 'Reason'], wordWrap: true });
      for (const o of list.items) table.push([o.id, o.status, o.attention.step, o.attention.since, o.attention.reason]);
      io.out(`${table.toString()}\n`);
    });
  program
    .command('retry <orderId>')
    .description('Resume a parked order: its unanswered compensations are sent again.')
    .action(async (orderId: string) => {
      const result = await call('POST', `/admin/orders/${encodeURIComponent(orderId)}/retry`);
      io.out(json() ? `${JSON.stringify(result, null, 2)}\n` : `Order ${orderId} resumed; follow it with GET /orders/${orderId}.\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.err(`${(error as Error).message}\n`);
    failed = true;
  }
  return failed ? 1 : 0;
}

interface Parked {
  id: string;
  status: string;
  attention: { reason: string; since: string; step: string };
}

if (require.main === module) runCli(main);
