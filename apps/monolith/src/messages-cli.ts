import 'reflect-metadata';
import { loadConfig, runCli, runMessagesCli } from '@app/platform';
import { checkRemoteModules } from './app.module';
import { hostedModuleNames } from './bootstrap';

/**
 * `messages`: the operators' CLI for the messaging outboxes of the modules this monolith hosts (all but
 * REMOTE_MODULES), each as its own role (see runMessagesCli in libs/platform/src/messaging/operations/cli.ts).
 *   node dist/apps/monolith/src/messages-cli.js [--json] dead-letters list [--module m] [--limit n]
 *   node dist/apps/monolith/src/messages-cli.js dead-letters show <module> <id>
 *   node dist/apps/monolith/src/messages-cli.js dead-letters requeue <module> <id>|--all
 *   node dist/apps/monolith/src/messages-cli.js dead-letters purge <module> <id>|--all
 *   node dist/apps/monolith/src/messages-cli.js outbox stats
 * Connects to DATABASE_URL, else to the embedded server of a running app on 127.0.0.1:EMBEDDED_PG_PORT.
 */
export async function main(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(env);
  checkRemoteModules(config.REMOTE_MODULES);
  return runMessagesCli(argv, hostedModuleNames(config), { env, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
}

if (require.main === module) runCli(main);
