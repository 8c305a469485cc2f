import 'reflect-metadata';
import { createLogger, drainOnSignals, runMain } from '@app/platform';
import { configOrExit, start } from './bootstrap';

runMain(async () => {
  const config = configOrExit();
  const logger = createLogger(config);
  drainOnSignals(await start(config, logger), logger);
});
