// A small fault-injecting TCP proxy for latency with jitter, where the kernel has no netem. It runs as its own
// process (forked by startLatencyProxy), so its timers never share an event loop with the load generator.
// Bytes from the client are held for `delay ± jitter` ms each (order kept: a chunk never overtakes an earlier
// one), so every request/response round trip gets that much longer; with no delay it is a plain pipe.
import { randomInt } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from '../../harness/infra.mjs';

const self = fileURLToPath(import.meta.url);

/** Forks the proxy: clients connect to 127.0.0.1:<port>, it connects to upstream. */
export async function startLatencyProxy({ name, upstreamHost, upstreamPort, logDir }) {
  const child = new Child(`latency proxy (${name})`, process.execPath, [self, upstreamHost, String(upstreamPort)], {
    ipc: true,
    logFile: path.join(logDir, `proxy-${name}.log`),
  });
  const ready = new Promise((resolve, reject) => {
    child.process.once('message', resolve);
    child.exited.then(() => reject(new Error(`the latency proxy (${name}) exited while starting:\n${child.tail()}`)));
  });
  const ask = (message) =>
    new Promise((resolve, reject) => {
      const onMessage = (reply) => {
        if (reply.id !== message.id) return;
        child.process.off('message', onMessage);
        resolve(reply);
      };
      child.process.on('message', onMessage);
      child.process.send(message, (error) => error && reject(error));
      setTimeout(() => reject(new Error(`the latency proxy (${name}) did not answer`)), 5_000).unref();
    });
  let seq = 0;
  const { port } = await ready;
  return {
    host: '127.0.0.1',
    port,
    child,
    setDelay: (delayMs, jitterMs) => ask({ id: ++seq, op: 'delay', delayMs, jitterMs }),
    stop: () => child.stop(2_000),
  };
}

function serve(upstreamHost, upstreamPort) {
  let delayMs = 0;
  let jitterMs = 0;
  const server = createServer({ pauseOnConnect: true }, (client) => {
    const upstream = createConnection({ host: upstreamHost, port: upstreamPort });
    let due = 0; // when the last held chunk goes out: a later one never goes earlier
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    upstream.on('connect', () => client.resume());
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('data', (chunk) => {
      if (delayMs === 0 && due <= Date.now()) return void upstream.write(chunk);
      const jitter = jitterMs > 0 ? randomInt(-jitterMs, jitterMs + 1) : 0;
      due = Math.max(due, Date.now() + Math.max(0, delayMs + jitter));
      setTimeout(() => upstream.writable && upstream.write(chunk), due - Date.now());
    });
  });
  process.on('message', (message) => {
    if (message.op === 'delay') ({ delayMs, jitterMs } = message);
    process.send({ id: message.id });
  });
  server.listen(0, '127.0.0.1', () => process.send({ op: 'ready', port: server.address().port }));
  process.on('disconnect', () => process.exit(0)); // the drill is gone
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] === self) {
  {
    const [upstreamHost, upstreamPort] = process.argv.slice(2);
    serve(upstreamHost, Number(upstreamPort));
  }
}
