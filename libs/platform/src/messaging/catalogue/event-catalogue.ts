import { z } from 'zod';
import type { MessageCatalog } from './catalog';
import type { HandlerRegistry } from '../core/handlers';

export interface CatalogueEntry {
  type: string;
  name: string;
  version: string;
  producer: string;
  consumers: string[];
  description: string;
  schema: Record<string, unknown>;
}

/**
 * The event catalogue: every declared message with its producer (MessagingModule.forModule publishes) and its
 * consumers (the discovered @HandleMessage handlers). `describe(type)` supplies each message's prose.
 */
export function catalogueEntries(
  catalog: MessageCatalog,
  handlers: HandlerRegistry,
  describe: (type: string) => string = () => '',
): CatalogueEntry[] {
  const subscriptions = handlers.all();
  return catalog.entries().map(({ module, contract }) => {
    const [, name = contract.type, version = ''] = /^(.*)\.(v\d+)$/.exec(contract.type) ?? [];
    // Draft-07: AsyncAPI's default schema format is a superset of it (2020-12 keywords such as prefixItems are not).
    const { $schema: _ignored, ...schema } = z.toJSONSchema(contract.schema, {
      io: 'input',
      unrepresentable: 'any',
      target: 'draft-07',
    }) as Record<string, unknown>;
    return {
      type: contract.type,
      name,
      version,
      producer: module,
      consumers: subscriptions
        .filter((s) => s.contract.type === contract.type)
        .map((s) => s.consumer)
        .sort(),
      description: describe(contract.type),
      schema,
    };
  });
}

export function renderCatalogueMarkdown(entries: CatalogueEntry[]): string {
  const rows = entries.map(
    (e) =>
      `| [\`${e.type}\`](#${anchor(e.type)}) | ${e.version} | ${e.producer} | ${e.consumers.map((c) => `\`${c}\``).join('<br>') || '(none)'} |`,
  );
  const sections = entries.map((e) =>
    [
      `## \`${e.type}\``,
      '',
      e.description || '(no description)',
      '',
      `- Version: ${e.version}`,
      `- Producer: ${e.producer}`,
      `- Consumers: ${e.consumers.map((c) => `\`${c}\``).join(', ') || 'none'}`,
      '',
      '```json',
      JSON.stringify(e.schema, null, 2),
      '```',
      '',
    ].join('\n'),
  );
  return [
    '# Event catalogue',
    '',
    '<!-- Generated from the contracts by `npm run docs:events`. Do not edit by hand; CI fails when it is stale. -->',
    '',
    'Every message the modules exchange: its stable, versioned type, the module that publishes it (declared with',
    '`MessagingModule.forModule(module, { publishes })`, enforced by the outbox) and the handlers that consume it',
    '(`@HandleMessage`). Payload schemas are JSON Schema generated from the zod contracts. The same content, as',
    'AsyncAPI 3.0, is in [asyncapi.json](asyncapi.json).',
    '',
    '| Type | Version | Producer | Consumers |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    ...sections,
  ].join('\n');
}

/** AsyncAPI 3.0: one channel per message type; the producer sends on it, each consuming module receives. */
export function renderAsyncApi(
  entries: CatalogueEntry[],
  info: { title: string; version: string; description: string },
): Record<string, unknown> {
  const id = (type: string) => type.replace(/[^A-Za-z0-9]+/g, '_');
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const e of entries) {
    const key = id(e.type);
    messages[key] = {
      name: e.type,
      title: e.type,
      summary: e.description.split('\n')[0],
      contentType: 'application/json',
      payload: e.schema,
    };
    channels[key] = { address: e.type, messages: { [key]: { $ref: `#/components/messages/${key}` } } };
    operations[`${key}__send`] = {
      action: 'send',
      channel: { $ref: `#/channels/${key}` },
      summary: `${e.producer} publishes ${e.type} through its transactional outbox`,
      'x-module': e.producer,
    };
    for (const consumer of e.consumers) {
      operations[`${key}__receive__${id(consumer)}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${key}` },
        summary: `${consumer} applies ${e.type} once (inbox)`,
        'x-module': consumer.split(':')[0],
      };
    }
  }
  return { asyncapi: '3.0.0', info, defaultContentType: 'application/json', channels, operations, components: { messages } };
}

function anchor(type: string): string {
  return type.replace(/[^a-z0-9 -]/gi, '').toLowerCase();
}
