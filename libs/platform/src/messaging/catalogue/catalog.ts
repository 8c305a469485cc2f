import type { MessageContract } from '../core/contract';

/**
 * Which module publishes and consumes which messages, as each module declares with
 * `MessagingModule.forModule('orders', { publishes: [...], consumes: [...] })`. The outbox refuses to publish
 * anything a module did not declare, and the application refuses to start when a module's handlers differ from
 * what it declared it consumes, so the declarations (and the event catalogue and routing built on them) stay true.
 */
export class MessageCatalog {
  private readonly published = new Map<string, Map<string, MessageContract>>();
  private readonly consumed = new Map<string, ReadonlySet<string>>();

  declareConsumes(module: string, types: readonly string[]): void {
    this.consumed.set(module, new Set(types));
  }

  /** The message types `module` declared it consumes; undefined when it declared none. */
  consumesOf(module: string): ReadonlySet<string> | undefined {
    return this.consumed.get(module);
  }

  /** Modules that declared what they consume. */
  consumerDeclarations(): string[] {
    return [...this.consumed.keys()];
  }

  declare(module: string, contracts: readonly MessageContract[]): void {
    const mine = this.published.get(module) ?? new Map<string, MessageContract>();
    for (const contract of contracts) {
      const owner = this.publisherOf(contract.type);
      if (owner && owner !== module) {
        throw new Error(`${contract.type} is declared as published by both '${owner}' and '${module}'. A message type has one producer.`);
      }
      mine.set(contract.type, contract);
    }
    this.published.set(module, mine);
  }

  /** True when `module` declared `type`, or declared nothing at all (declarations are opt-in per module). */
  allows(module: string, type: string): boolean {
    const mine = this.published.get(module);
    return !mine || mine.size === 0 || mine.has(type);
  }

  publisherOf(type: string): string | undefined {
    for (const [module, contracts] of this.published) if (contracts.has(type)) return module;
    return undefined;
  }

  /** Every declared contract with its publishing module, sorted by type. */
  entries(): { module: string; contract: MessageContract }[] {
    return [...this.published]
      .flatMap(([module, contracts]) => [...contracts.values()].map((contract) => ({ module, contract })))
      .sort((a, b) => a.contract.type.localeCompare(b.contract.type));
  }
}
