// The relay's benchmark must do the work it is compared on: every message handled, in key order, with its figures.
// No timings are asserted.
import { Client } from 'pg';
import { TEST_SERVER_ENV } from '../../testing/test-database';
import { runRelay } from './outbox.bench';

const serverUrl = () => process.env[TEST_SERVER_ENV]!;

async function databaseExists(name: string): Promise<boolean> {
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    return (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

describe('runRelay: the outbox relay on the peers’ terms', () => {
  it('a backlog: handles every message in key order, counts CPU, drops its database', async () => {
    const r = await runRelay({ databaseUrl: serverUrl(), mode: 'backlog', messages: 500, keys: 50 });
    expect(r).toMatchObject({ tool: 'outbox relay', mode: 'backlog', order: 'per-key', messages: 500, keys: 50, outOfOrder: 0 });
    expect(r.toolErrors).toEqual([]);
    expect(r.perSecond).toBeGreaterThan(0);
    expect(r.cpu.node).toBeGreaterThan(0);
    expect(r.cpu.postgresProcesses).toBeGreaterThan(0);
    expect(r.latencyUs).toBeNull();
    expect(r.database).toMatch(/^outbox_bench_/);
    expect(await databaseExists(r.database)).toBe(false);
  }, 60_000);

  it('open loop: measures commit → handler start for every message', async () => {
    const r = await runRelay({ databaseUrl: serverUrl(), mode: 'open-loop', rate: 100, seconds: 1, keys: 10 });
    expect(r).toMatchObject({ mode: 'open-loop', messages: 100, outOfOrder: 0, offeredPerSecond: 100 });
    expect(r.latencyUs?.totalCount).toBe(100);
    expect(r.commitUs?.totalCount).toBe(100);
  }, 60_000);
});
