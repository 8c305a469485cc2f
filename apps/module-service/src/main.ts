import 'reflect-metadata';
import { loadEnvFileIfPresent, runMain, startModuleService } from '@app/platform';

/**
 * Any module under libs/ in a service of its own, by name: `node dist/apps/module-service/src/main.js shipping`
 * (`npm run start:service -- shipping`), beside a monolith started with REMOTE_MODULES=shipping. It reads
 * `<NAME>_PORT` (default 3001), `<NAME>_DATABASE_URL` (else an embedded PostgreSQL of its own) and REDIS_URL, as
 * apps/billing-service does. See docs/extracting-a-service.md.
 */
loadEnvFileIfPresent(); // ./.env, if any; the environment wins
const name = process.argv[2];
if (!name || name.startsWith('-')) {
  console.error('Name the module to serve: node dist/apps/module-service/src/main.js <module> (e.g. billing).');
  process.exit(64); // EX_USAGE
}
runMain(() => startModuleService(name));
