// The drill's own redis-server for the extracted topology, inside the drill's namespace when it has one, with an
// append-only file fsynced on every write (the production setting, docs/messaging.md): kill -9 and restarts
// come back on the same data.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Child, freePort, onCleanup, tempDir, waitForRedis } from '../../harness/infra.mjs';

const REDIS_PORT = 6379;
// In a namespace only the drill's host end of the veth reaches it, so protected mode (loopback only) is off there.

export async function startOwnRedis({ logDir, ns, front }) {
  const binary = existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server';
  const dir = tempDir('monolith-first-drill-redis-');
  const host = ns ? ns.nsIp : '127.0.0.1';
  const port = ns ? REDIS_PORT : await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    host,
    '--protected-mode',
    ns ? 'no' : 'yes',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--dir',
    dir,
    '--save',
    '',
  ];
  const argv = ns ? [...ns.enter(), binary, ...args] : [binary, ...args];
  const logFile = path.join(logDir, 'redis.log');
  const directUrl = `redis://${host}:${port}`;
  const where = front ? await front(host, port) : { host, port };
  let child;
  const server = {
    directUrl,
    url: `redis://${where.host}:${where.port}`,
    get pid() {
      return child?.pid;
    },
    get running() {
      return Boolean(child?.running);
    },
    async start() {
      child = new Child('redis-server', argv[0], argv.slice(1), { logFile });
      await waitForRedis(child, directUrl);
    },
    kill9: () => child?.kill('SIGKILL'),
    /** SIGTERM: Redis flushes its append-only file and exits. */
    stop: () => child?.stop(10_000),
  };
  onCleanup(() => server.stop());
  await server.start();
  return server;
}
