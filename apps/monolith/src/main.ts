import 'reflect-metadata';
import { configOrExit, createLogger, drainOnSignals, start } from './bootstrap';

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config);
  const running = await start(config);
  drainOnSignals(running, logger);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
