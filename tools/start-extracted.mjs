#!/usr/bin/env node
// `npm run start:extracted`: the extracted topology on this machine, from the build in dist/.
// Starts apps/billing-service (port BILLING_PORT, default 3001, embedded PostgreSQL of its own unless
// BILLING_DATABASE_URL) and the monolith with REMOTE_MODULES=billing (port PORT, default 3000), both on the Redis
// in REDIS_URL (default redis://127.0.0.1:6379). Ctrl-C (or SIGTERM) drains both; if one exits, the other is stopped.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const apps = [
  { name: 'billing', main: 'dist/apps/billing-service/src/main.js', env: {} },
  { name: 'monolith', main: 'dist/apps/monolith/src/main.js', env: { REMOTE_MODULES: process.env.REMOTE_MODULES || 'billing' } },
];
for (const app of apps) {
  if (!existsSync(app.main)) {
    console.error(`${app.main} is missing: run 'npm run build' first (npm run start:extracted does).`);
    process.exit(1);
  }
}

let stopping = false;
const children = apps.map((app) => {
  const child = spawn(process.execPath, [app.main], { env: { ...process.env, ...app.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `[${app.name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${prefix}exited (${signal ?? code})`);
    if (!stopping) stop('SIGTERM', code || 1);
  });
  return child;
});

let exitCode = 0;
function stop(signal, code = 0) {
  exitCode ||= code;
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('exit', () => stop('SIGKILL'));
await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)))));
process.exit(exitCode);
