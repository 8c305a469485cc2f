import { loadEnvFileIfPresent } from '../config/env-file';

/**
 * The entry point of an operators' CLI: reads ./.env (the environment wins), runs `main` and sets its exit code; an
 * unexpected failure prints its message and exits 1. `process.exitCode` rather than `exit()`, so output is flushed.
 */
export function runCli(main: () => Promise<number>): void {
  loadEnvFileIfPresent();
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
