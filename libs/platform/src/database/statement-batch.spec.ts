import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { customPlanned, statement } from './module-db';
import { StatementBatch } from './statement-batch';

/** Runs statements as one batch on the client; resolves to each statement's rows. */
async function batch(client: Client, statements: { name: string; text: string; values: unknown[] }[]) {
  const b = new StatementBatch(statements);
  void client.query(b as never);
  return b.done;
}

describe('StatementBatch on PostgreSQL', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase('batch');
    client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE queue (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key text NOT NULL, body text NOT NULL)`);
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('runs unnamed statements next to named ones, parsing them again each time', async () => {
    const insert = statement(`INSERT INTO queue (key, body) VALUES ($1, $2) RETURNING seq::int`);
    const count = customPlanned(`SELECT count(*)::int AS n FROM queue WHERE key = $1`);
    const keys = customPlanned(`SELECT string_agg(key, ',' ORDER BY seq) AS keys FROM queue WHERE body = $1`);
    for (let round = 1; round <= 3; round++) {
      const [, counted, inserted, listed] = await batch(client, [
        { ...insert, values: ['a', `round ${round}`] },
        { ...count, values: ['a'] },
        { ...insert, values: ['b', `round ${round}`] },
        { ...keys, values: [`round ${round}`] },
      ]);
      expect(counted).toEqual([{ n: round }]);
      expect(inserted).toHaveLength(1);
      expect(listed).toEqual([{ keys: 'a,b' }]);
    }
    // Only the named statement stays prepared on the connection.
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_prepared_statements`);
    expect(rows).toEqual([{ n: 1 }]);
  });
});
