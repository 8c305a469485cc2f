import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Reads `.env` in the working directory into the environment when the file exists, so settings can live in a file
 * on a laptop (see .env.example). Variables already in the environment win, even empty ones: the file only fills
 * gaps, as with `node --env-file`. Every entry point calls this first, before its configuration is read.
 * Node's own parser (util.parseEnv, the one behind process.loadEnvFile) rather than process.loadEnvFile itself, so
 * the target can be given (Jest's sandboxed process.env is not the one loadEnvFile writes to). Returns the file read.
 */
export function loadEnvFileIfPresent(file = '.env', env: NodeJS.ProcessEnv = process.env): string | undefined {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) return undefined;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(resolved, 'utf8')))) {
    if (!(name in env)) env[name] = value;
  }
  return resolved;
}
