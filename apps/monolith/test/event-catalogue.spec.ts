import { catalogueEntries, HandlerRegistry, MessageCatalog, renderAsyncApi, renderCatalogueMarkdown } from '@app/platform';
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
    const descriptions = contractDescriptions();
    const entries = catalogueEntries(
      context.app.get(MessageCatalog),
      context.app.get(HandlerRegistry),
      (type) => descriptions.get(type) ?? '',
    );
    const markdown = renderCatalogueMarkdown(entries);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; description: string };
    const asyncapi = `${JSON.stringify(renderAsyncApi(entries, { title: 'Monolith-First messages', version: pkg.version, description: pkg.description }), null, 2)}\n`;
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
});

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
