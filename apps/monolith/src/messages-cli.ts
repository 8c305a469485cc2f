import 'reflect-metadata';
import { loadEnvFileIfPresent, runMessagesCli } from '@app/platform';

/**
 * `messages`: the operators' CLI for the messaging outboxes (see runMessagesCli in libs/platform/src/messaging/cli.ts).
 *   node dist/apps/monolith/src/messages-cli.js dead-letters list [--module m] [--limit n]
 *   node dist/apps/monolith/src/messages-cli.js dead-letters show <module> <id>
 *   node dist/apps/monolith/src/messages-cli.js dead-letters requeue <module> <id>|--all
 *   node dist/apps/monolith/src/messages-cli.js dead-letters purge <module> <id>|--all
 *   node dist/apps/monolith/src/messages-cli.js outbox stats
 * Connects with DATABASE_URL, else to the embedded server of a running app on 127.0.0.1:EMBEDDED_PG_PORT.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  return runMessagesCli(argv);
}

if (require.main === module) {
  loadEnvFileIfPresent(); // ./.env, if any; the environment wins
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
