import {
  type CatalogueEntry,
  catalogueEntries,
  HandlerRegistry,
  MessageCatalog,
  renderAsyncApi,
  renderCatalogueMarkdown,
} from '@app/platform';
import { Parser } from '@asyncapi/parser';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appContext } from './app-context';

const ROOT = path.resolve(__dirname, '../../..');
const MARKDOWN = path.join(ROOT, 'docs/events.md');
const ASYNCAPI = path.join(ROOT, 'docs/asyncapi.json');
const UPDATE = process.env.UPDATE_CATALOGUE === '1';

/**
 * docs/events.md and docs/asyncapi.json are generated from the contracts, the modules' publish declarations and
 * the discovered handlers. This test fails when they are stale; `npm run docs:events` rewrites them.
 */
describe('event catalogue', () => {
  const context = appContext();

  it('lists every message with its producer and consumers, and every consumed message has a producer', () => {
    const entries = catalogueEntries(context.app.get(MessageCatalog), context.app.get(HandlerRegistry));
    const types = new Set(entries.map((e) => e.type));
    const orphans = context.app
      .get(HandlerRegistry)
      .all()
      .filter((s) => !types.has(s.contract.type))
      .map((s) => `${s.consumer} handles ${s.contract.type}, which no module declares it publishes`);
    expect(orphans).toEqual([]);
    expect(entries.find((e) => e.type === 'billing.capture-payment.v1')).toMatchObject({
      producer: 'orders',
      consumers: ['billing:BillingHandlers.capture'],
      version: 'v1',
    });
  });

  it('is up to date in docs/events.md and docs/asyncapi.json', () => {
    const entries = describedEntries();
    const markdown = renderCatalogueMarkdown(entries);
    const asyncapi = `${JSON.stringify(asyncApiDocument(entries), null, 2)}\n`;
    if (UPDATE) {
      writeFileSync(MARKDOWN, markdown);
      writeFileSync(ASYNCAPI, asyncapi);
    }
    const stale = 'is stale: run `npm run docs:events` and commit the result';
    expect({ file: 'docs/events.md', upToDate: readOrEmpty(MARKDOWN) === markdown }).toEqual({
      file: `docs/events.md`,
      upToDate: true,
      ...(readOrEmpty(MARKDOWN) === markdown ? {} : { hint: stale }),
    });
    expect({ file: 'docs/asyncapi.json', upToDate: readOrEmpty(ASYNCAPI) === asyncapi }).toEqual({
      file: 'docs/asyncapi.json',
      upToDate: true,
      ...(readOrEmpty(ASYNCAPI) === asyncapi ? {} : { hint: stale }),
    });
  });

  it('is a valid AsyncAPI document (@asyncapi/parser), with a channel per message and an operation per producer and consumer', async () => {
    const entries = describedEntries();
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApiDocument(entries)));
    const problems = diagnostics
      .filter((d) => Number(d.severity) <= 1) // 0 error, 1 warning; information (e.g. 'a newer AsyncAPI exists') and hints pass
      .map((d) => `${d.path.join('.')}: ${d.message} (${d.code})`);
    expect(problems).toEqual([]);
    expect(document?.channels().length).toBe(entries.length);
    const operations = document!.operations().all();
    expect(operations.filter((o) => o.isSend())).toHaveLength(entries.length);
    expect(operations.filter((o) => o.isReceive())).toHaveLength(entries.reduce((n, e) => n + e.consumers.length, 0));
    const capture = document!.channels().get('billing_capture_payment_v1');
    expect(capture?.address()).toBe('billing.capture-payment.v1');
    expect(capture?.messages().all()[0].payload()?.required()).toEqual(['orderId', 'customerId', 'amountCents']);
  });

  /** Every catalogue entry with the prose of its contract. */
  function describedEntries(): CatalogueEntry[] {
    const descriptions = contractDescriptions();
    return catalogueEntries(context.app.get(MessageCatalog), context.app.get(HandlerRegistry), (type) => descriptions.get(type) ?? '');
  }
});

function asyncApiDocument(entries: CatalogueEntry[]): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; description: string };
  return renderAsyncApi(entries, { title: 'Monolith-First messages', version: pkg.version, description: pkg.description });
}

/** The doc comment right above each `export const X = { type: '...' }` in the modules' contracts files (not the file's header). */
function contractDescriptions(): Map<string, string> {
  const found = new Map<string, string>();
  for (const module of readdirSync(path.join(ROOT, 'libs'))) {
    let source: string;
    try {
      source = readFileSync(path.join(ROOT, 'libs', module, 'src/contracts/index.ts'), 'utf8');
    } catch {
      continue;
    }
    for (const m of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export const \w+ = \{\s*type: '([^']+)'/g)) {
      found.set(
        m[2],
        m[1]
          .replace(/^\s*\*\s?/gm, '')
          .trim()
          .replace(/\s+/g, ' '),
      );
    }
  }
  return found;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
