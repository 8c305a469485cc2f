// The files of a new module, in the shape of libs/inventory: contracts, a pure domain, application (a service and a
// handler of orders' OrderConfirmed), persistence (its first migration, in its own schema), http and tests that boot
// the module alone. `n` holds the module's names (see namesOf in new-module.mjs); `timestamp` orders its migrations.
// The example is an "entry" that a confirmed order opens (for shipping: a shipment to prepare); rename it to your
// domain's words once generated.

export function moduleFiles(n, timestamp) {
  const migrationClass = `Create${n.pascal}${timestamp}`;
  return {
    'src/index.ts': `/** The ${n.name} module's only public entry. Other modules use \`@app/${n.name}/contracts\`, never this. */
export { ${n.pascal}Module } from './${n.file}.module';
`,

    [`src/${n.file}.module.ts`]: `import { DatabaseModule, MessagingModule } from '@app/platform';
import { Module } from '@nestjs/common';
import { ${n.pascal}Handlers } from './application/${n.file}.handlers';
import { ${n.pascal}Service } from './application/${n.file}.service';
import { EntryOpened, ${n.camel}Consumes } from './contracts';
import { ${n.pascal}Controller } from './http/${n.file}.controller';
import { ${n.camel}Database } from './persistence';

/** The messages ${n.name} publishes (its outbox refuses any other) and consumes (checked against its handlers). */
const ${n.camel}Messages = { publishes: [EntryOpened], consumes: ${n.camel}Consumes };

/** ${n.title}: entries, opened by hand or by a confirmed order. Owns the \`${n.name}\` schema. */
@Module({
  imports: [DatabaseModule.forModule(${n.camel}Database), MessagingModule.forModule('${n.name}', ${n.camel}Messages)],
  controllers: [${n.pascal}Controller],
  providers: [${n.pascal}Service, ${n.pascal}Handlers],
})
export class ${n.pascal}Module {}
`,

    'src/contracts/index.ts': `/**
 * Messages ${n.name} accepts and publishes: its API for other modules. This file imports nothing but zod and other
 * modules' contracts, and a published type name never changes meaning (publish a .v2 beside it instead).
 */
import { OrderConfirmed } from '@app/orders/contracts';
import { z } from 'zod';

/** Event: an entry was opened in ${n.name}, by hand or for a confirmed order (then orderId is set). Keyed by the entry id. */
export const EntryOpened = {
  type: '${n.name}.entry-opened.v1',
  schema: z.object({ entryId: z.uuid(), title: z.string().min(1).max(200), orderId: z.uuid().nullable() }),
} as const;

/**
 * The messages ${n.name} handles. A host that runs ${n.name} elsewhere sends it exactly these, and ${n.name} refuses to
 * start when its handlers and this list disagree.
 */
export const ${n.camel}Consumes: readonly string[] = [OrderConfirmed.type];
`,

    'src/domain/entry.ts': `/**
 * ${n.title}'s domain rules, free of framework and database code.
 */

export interface Entry {
  id: string;
  title: string;
  /** The confirmed order that opened it; null for an entry opened by hand. */
  orderId: string | null;
}

export const MAX_TITLE_LENGTH = 200;

export class InvalidTitle extends Error {}

/** An entry's title as stored: white space collapsed and trimmed, 1 to MAX_TITLE_LENGTH characters. */
export function entryTitle(raw: string): string {
  const title = raw.replace(/\\s+/g, ' ').trim();
  if (title.length === 0) throw new InvalidTitle('An entry needs a title: it is empty.');
  if (title.length > MAX_TITLE_LENGTH) throw new InvalidTitle(\`A title is at most \${MAX_TITLE_LENGTH} characters, got \${title.length}.\`);
  return title;
}

/** The title of the entry a confirmed order opens. */
export function titleForOrder(orderId: string, totalCents: number): string {
  return \`Order \${orderId} (\${(totalCents / 100).toFixed(2)})\`;
}
`,

    'src/domain/entry.spec.ts': `import { InvalidTitle, MAX_TITLE_LENGTH, entryTitle, titleForOrder } from './entry';

describe('${n.name} entry rules', () => {
  it('collapses and trims white space in titles', () => {
    expect(entryTitle('  Pack\\n  the   mugs ')).toBe('Pack the mugs');
  });

  it('refuses an empty or over-long title, saying why', () => {
    expect(() => entryTitle(' \\t ')).toThrow(InvalidTitle);
    expect(() => entryTitle('x'.repeat(MAX_TITLE_LENGTH + 1))).toThrow(/at most 200 characters, got 201/);
    expect(entryTitle('x'.repeat(MAX_TITLE_LENGTH))).toHaveLength(MAX_TITLE_LENGTH);
  });

  it('titles the entry of a confirmed order with its id and total', () => {
    expect(titleForOrder('5b7c', 2598)).toBe('Order 5b7c (25.98)');
  });
});
`,

    [`src/application/${n.file}.service.ts`]: `import { type BoundOutbox, InjectModuleDb, InjectOutbox, type ModuleDb, Outbox, type Tx, bindOutbox, newId } from '@app/platform';
import { Injectable } from '@nestjs/common';
import { EntryOpened } from '../contracts';
import { type Entry, entryTitle, titleForOrder } from '../domain/entry';
import { type EntryRow, ${n.pascal}Sql as Sql, toEntry } from '../persistence';

export class UnknownEntry extends Error {
  constructor(readonly id: string) {
    super(\`No entry has id \${id}. List what exists in your own records, or open one with POST /${n.route}/entries.\`);
  }
}

/** ${n.title}'s use cases. Each write and the event announcing it commit together (transactional outbox). */
@Injectable()
export class ${n.pascal}Service {
  constructor(
    @InjectModuleDb('${n.name}') private readonly db: ModuleDb,
    @InjectOutbox('${n.name}') private readonly outbox: Outbox,
  ) {}

  /** Opens an entry by hand (HTTP). */
  open(title: string): Promise<Entry> {
    return this.db.transaction((tx) => this.insert(tx, bindOutbox(this.outbox, tx), entryTitle(title), null));
  }

  /** Opens the entry of a confirmed order, in the handler's transaction: once per order, however often it is delivered. */
  openForOrder(tx: Tx, outbox: BoundOutbox, orderId: string, totalCents: number): Promise<Entry> {
    return this.insert(tx, outbox, titleForOrder(orderId, totalCents), orderId);
  }

  async get(id: string): Promise<Entry> {
    const [row] = await this.db.query<EntryRow>(Sql.entry, [id]);
    if (!row) throw new UnknownEntry(id);
    return toEntry(row);
  }

  private async insert(tx: Tx, outbox: BoundOutbox, title: string, orderId: string | null): Promise<Entry> {
    const [row] = await tx.query<EntryRow>(Sql.insertEntry, [newId(), title, orderId]);
    if (!row) return toEntry((await tx.query<EntryRow>(Sql.entryOfOrder, [orderId]))[0]); // the order's entry exists already
    const entry = toEntry(row);
    await outbox.add(EntryOpened, { entryId: entry.id, title: entry.title, orderId: entry.orderId }, { key: entry.id });
    return entry;
  }
}
`,

    [`src/application/${n.file}.handlers.ts`]: `import { HandleMessage, type MessageContext, MessageConsumer, type PayloadOf } from '@app/platform';
import { Injectable } from '@nestjs/common';
import { OrderConfirmed } from '@app/orders/contracts';
import { ${n.pascal}Service } from './${n.file}.service';

/**
 * ${n.title}'s subscriptions. Each handler runs in one ${n.name} transaction together with its inbox row, so a
 * redelivered message changes nothing; what it publishes goes out through ${n.name}'s outbox in that transaction.
 */
@MessageConsumer('${n.name}')
@Injectable()
export class ${n.pascal}Handlers {
  constructor(private readonly ${n.camel}: ${n.pascal}Service) {}

  /** A confirmed order opens an entry here (for shipping: a shipment to prepare). */
  @HandleMessage(OrderConfirmed)
  async orderConfirmed({ orderId, totalCents }: PayloadOf<typeof OrderConfirmed>, { tx, outbox }: MessageContext): Promise<void> {
    await this.${n.camel}.openForOrder(tx, outbox, orderId, totalCents);
  }
}
`,

    'src/persistence/index.ts': `import { messagingMigrations, migrationsIn } from '@app/platform';
import path from 'node:path';

export { type EntryRow, ${n.pascal}Sql, toEntry } from './${n.file}.sql';

/**
 * ${n.title}'s schema, roles and tables. Its migrations: every file in migrations/ (\`npm run migration:create --
 * ${n.name} <name>\` writes one), and the platform's tables. TypeORM applies them in timestamp order.
 */
export const ${n.camel}Database = {
  name: '${n.name}',
  migrations: [...migrationsIn(path.join(__dirname, 'migrations')), ...messagingMigrations(${timestamp + 10})],
};
`,

    [`src/persistence/${n.file}.sql.ts`]: `import { statement } from '@app/platform';
import type { Entry } from '../domain/entry';

/** A row of \`entries\` as the statements below return it. */
export interface EntryRow {
  id: string;
  title: string;
  order_id: string | null;
}

export function toEntry(r: EntryRow): Entry {
  return { id: r.id, title: r.title, orderId: r.order_id };
}

/** ${n.title}'s statements (its own schema, by the role's search_path). */
export const ${n.pascal}Sql = {
  /** Returns nothing when the order has its entry already. */
  insertEntry: statement(\`INSERT INTO entries (id, title, order_id) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING
    RETURNING id, title, order_id\`),
  entry: statement(\`SELECT id, title, order_id FROM entries WHERE id = $1\`),
  entryOfOrder: statement(\`SELECT id, title, order_id FROM entries WHERE order_id = $1\`),
};
`,

    [`src/persistence/migrations/${timestamp}-create-${n.route}.ts`]: `import { grantToRuntime } from '@app/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** ${n.title}'s first table, in its own schema (the owner role's search_path), and what its running code may do to it. */
export class ${migrationClass} implements MigrationInterface {
  name = '${migrationClass}';

  async up(q: QueryRunner): Promise<void> {
    await q.query(\`CREATE TABLE entries (
      id uuid PRIMARY KEY,
      title text NOT NULL CONSTRAINT entries_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
      order_id uuid UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now())\`);
    await grantToRuntime(q, 'SELECT, INSERT', 'entries');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(\`DROP TABLE entries\`);
  }
}
`,

    [`src/http/${n.file}.schemas.ts`]: `import { TextSchema } from '@app/platform';
import { z } from 'zod';
import { MAX_TITLE_LENGTH } from '../domain/entry';

export const OpenEntrySchema = z.strictObject({
  title: TextSchema.trim()
    .min(1, 'must not be empty')
    .max(MAX_TITLE_LENGTH, \`must be at most \${MAX_TITLE_LENGTH} characters\`)
    .describe('White space is collapsed.'),
});

export const EntryIdSchema = z.uuid({ error: 'must be a UUID' });

export const EntryViewSchema = z.object({ id: z.uuid(), title: z.string(), orderId: z.uuid().nullable() });
`,

    [`src/http/${n.file}.controller.ts`]: `import { ApiJsonBody, ApiPathParam, ApiResult, ApiSummary, Authenticated, Problem, ValidBody, ValidParam } from '@app/platform';
import { Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ${n.pascal}Service, UnknownEntry } from '../application/${n.file}.service';
import { type Entry, InvalidTitle } from '../domain/entry';
import { EntryIdSchema, EntryViewSchema, OpenEntrySchema } from './${n.file}.schemas';

/** Opens and reads ${n.name}'s entries (a back office). */
export const ${n.constant}_OPERATOR = '${n.name}:operator';

@ApiTags('${n.name}')
@Controller('${n.route}')
export class ${n.pascal}Controller {
  constructor(private readonly ${n.camel}: ${n.pascal}Service) {}

  @Post('entries')
  @ApiSummary('Open an entry')
  @Authenticated(${n.constant}_OPERATOR)
  @ApiJsonBody(OpenEntrySchema)
  @ApiResult(201, 'The new entry', EntryViewSchema, [400])
  async open(@ValidBody(OpenEntrySchema) body: z.infer<typeof OpenEntrySchema>): Promise<Entry> {
    return this.${n.camel}.open(body.title).catch(toProblem);
  }

  @Get('entries/:id')
  @ApiSummary('Read an entry')
  @Authenticated(${n.constant}_OPERATOR)
  @ApiPathParam('id', EntryIdSchema)
  @ApiResult(200, 'The entry', EntryViewSchema, [400, 404])
  async get(@ValidParam('id', EntryIdSchema) id: string): Promise<Entry> {
    return this.${n.camel}.get(id).catch(toProblem);
  }
}

function toProblem(error: unknown): never {
  if (error instanceof UnknownEntry) throw Problem.notFound('unknown-entry', error.message);
  if (error instanceof InvalidTitle) throw Problem.badRequest('invalid-title', error.message);
  throw error;
}
`,

    [`test/${n.file}.http.spec.ts`]: `import { createTestApp, type ModuleDb, moduleDbToken, type TestApp } from '@app/platform';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ${n.pascal}Module } from '../src/${n.file}.module';

describe('${n.name} over HTTP (module booted alone)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const count = async () =>
    Number((await t.app.get<ModuleDb>(moduleDbToken('${n.name}')).query<{ n: string }>('SELECT count(*) AS n FROM entries'))[0].n);

  beforeAll(async () => {
    t = await createTestApp([${n.pascal}Module]);
  });
  afterAll(() => t.close());

  it('opens an entry and reads it back', async () => {
    const created = await http().post('/${n.route}/entries').send({ title: '  Pack   the mugs ' }).expect(201);
    expect(created.body).toEqual({ id: expect.any(String), title: 'Pack the mugs', orderId: null });
    await http().get(\`/${n.route}/entries/\${created.body.id}\`).expect(200, created.body);
  });

  it.each([
    ['an empty title', { title: '   ' }, 'title'],
    ['an over-long title', { title: 'x'.repeat(201) }, 'title'],
    ['a number for a title', { title: 42 }, 'title'],
    ['a missing title', {}, 'title'],
    ['an unknown field', { title: 'ok', admin: true }, ''],
  ])('refuses %s with a 400 problem naming the field, and writes nothing', async (_label, body, field) => {
    const before = await count();
    const res = await http().post('/${n.route}/entries').send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/application\\/problem\\+json/);
    expect(res.body.type).toMatch(/validation-failed$/);
    if (field) expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, in: 'body' })]));
    expect(await count()).toBe(before);
  });

  it('answers 404 problem for an unknown entry and 400 for an id that is not a UUID', async () => {
    const res = await http().get(\`/${n.route}/entries/\${randomUUID()}\`).expect(404);
    expect(res.headers['content-type']).toMatch(/application\\/problem\\+json/);
    expect(res.body).toMatchObject({ type: expect.stringMatching(/unknown-entry$/), status: 404 });
    await http().get('/${n.route}/entries/not-a-uuid').expect(400);
  });
});
`,

    [`test/${n.file}.handlers.spec.ts`]: `import { createEnvelope, createTestApp, MessageDispatcher, type ModuleDb, moduleDbToken, type TestApp } from '@app/platform';
import { OrderConfirmed } from '@app/orders/contracts';
import { randomUUID } from 'node:crypto';
import { ${n.pascal}Module } from '../src/${n.file}.module';

describe('${n.name} handles confirmed orders (module booted alone, real PostgreSQL)', () => {
  let t: TestApp;
  let db: ModuleDb;

  beforeAll(async () => {
    t = await createTestApp([${n.pascal}Module]);
    db = t.app.get<ModuleDb>(moduleDbToken('${n.name}'));
  });
  afterAll(() => t.close());

  it('opens one entry per confirmed order, however often the event is delivered', async () => {
    const orderId = randomUUID();
    const confirmed = createEnvelope('orders', OrderConfirmed.type, { orderId, customerId: 'ada', totalCents: 2598 }, { key: orderId });
    const dispatcher = t.app.get(MessageDispatcher);
    expect(await dispatcher.deliver(confirmed)).toEqual([expect.objectContaining({ outcome: 'applied' })]);
    await dispatcher.deliver(confirmed); // a redelivery: the inbox skips it
    await dispatcher.deliver({ ...confirmed, id: randomUUID() }); // the same order announced twice: still one entry
    expect(await db.query('SELECT title, order_id FROM entries WHERE order_id = $1', [orderId])).toEqual([
      { title: \`Order \${orderId} (25.98)\`, order_id: orderId },
    ]);
  });
});
`,
  };
}
