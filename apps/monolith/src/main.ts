import 'reflect-metadata';
import { createLogger, drainOnSignals, loadEnvFileIfPresent, runMain } from '@app/platform';
import { configOrExit, start } from './bootstrap';

loadEnvFileIfPresent(); // ./.env, if any; the environment wins
runMain(async () => {
  const config = configOrExit();
  const logger = createLogger(config);
  drainOnSignals(await start(config, logger), logger);
});
