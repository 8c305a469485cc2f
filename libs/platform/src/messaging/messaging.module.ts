import {
  type DynamicModule,
  Global,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModuleRef } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { dataSourceToken } from '../database/database.module';
import { MessageCatalog } from './catalog';
import type { MessageContract } from './contract';
import { AdminTokenGuard, MESSAGING_ADMIN_TOKEN, MessagingAdminController } from './admin.controller';
import { DeadLetters, MessagingModules } from './dead-letters';
import { HandlerRegistry, MessageDispatcher, subscriptionsOf } from './dispatcher';
import { InProcessTransport } from './in-process-transport';
import { Outbox, assertModuleName, outboxToken } from './outbox';
import { OutboxRelay, type RelayOptions, type RelayOptionsInput, resolveRelayOptions } from './relay';
import { MESSAGE_TRANSPORT, type MessageTransport } from './transport';
import { BullMqPeers, type BullMqMessagingOptions, bullMqProviders } from './bullmq/bullmq-messaging';
import { BullMqRoutingTransport } from './bullmq/bullmq-routing-transport';

export interface MessagingOptions {
  /** Relay tuning: poll interval, batch size, concurrency, lease, retry (base, cap, attempts), retention windows. */
  relay?: RelayOptionsInput;
  /** Carries messages from relays to consumers. Default: InProcessTransport (the local dispatcher). */
  transport?: (dispatcher: MessageDispatcher) => MessageTransport;
  /**
   * This process is one host among several (some modules run remote): messages go to the local subscribers and,
   * over BullMQ, to every peer host; the app consumes its own queue after `connectBullMq(app)`. Overrides `transport`.
   */
  bullmq?: BullMqMessagingOptions;
  /** Bearer token of the admin endpoints (usually AppConfig.ADMIN_TOKEN). Unset: they refuse every request. */
  adminToken?: string;
}

/** Injection token of the resolved relay options. */
export const RELAY_OPTIONS = Symbol('RELAY_OPTIONS');

function dataSourceOf(moduleRef: ModuleRef, module: string): DataSource {
  try {
    return moduleRef.get<DataSource>(dataSourceToken(module), { strict: false });
  } catch {
    throw new Error(
      `Messaging needs the '${module}' DataSource, which is not in this application. Import ` +
        `DatabaseModule.forModule({ name: '${module}', migrations: [...messagingMigrations(<timestamp>), ...] }) in the ${module} module.`,
    );
  }
}

/**
 * Finds `@MessageConsumer` providers and fills the subscription table; checks every consumer module has a
 * DataSource, and that a module's handlers are exactly the messages it declared it consumes (when it declared).
 */
@Injectable()
export class MessageHandlerExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registry: HandlerRegistry,
    private readonly moduleRef: ModuleRef,
    private readonly catalog: MessageCatalog,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      for (const subscription of subscriptionsOf(instance)) this.registry.add(subscription);
    }
    for (const module of this.registry.consumerModules()) dataSourceOf(this.moduleRef, module);
    for (const module of this.catalog.consumerDeclarations()) checkConsumes(module, this.catalog, this.registry);
  }
}

/** Hosts route to a remote module only what it declared it consumes: a handler outside the list would never be called. */
function checkConsumes(module: string, catalog: MessageCatalog, registry: HandlerRegistry): void {
  const declared = catalog.consumesOf(module) ?? new Set<string>();
  const handled = new Set(
    registry
      .all()
      .filter((s) => s.module === module)
      .map((s) => s.contract.type),
  );
  const undeclared = [...handled].filter((t) => !declared.has(t)).sort();
  const unhandled = [...declared].filter((t) => !handled.has(t)).sort();
  if (undeclared.length === 0 && unhandled.length === 0) return;
  const problems = [
    undeclared.length > 0 ? `handles ${undeclared.join(', ')} without declaring it` : '',
    unhandled.length > 0 ? `declares ${unhandled.join(', ')} but has no handler for it` : '',
  ].filter(Boolean);
  throw new Error(
    `The '${module}' module ${problems.join(' and ')}. Hosts that run it elsewhere send it only the messages it declares ` +
      `(MessagingModule.forModule('${module}', { consumes })); make the list in its contracts match its @HandleMessage handlers.`,
  );
}

/** Runs one module's relay for the life of the application (provided as `relayToken(module)`). */
export class OutboxRelayHost implements OnApplicationBootstrap, OnModuleDestroy {
  relay?: OutboxRelay;

  constructor(
    private readonly module: string,
    private readonly moduleRef: ModuleRef,
    private readonly transport: MessageTransport,
    private readonly options: RelayOptions,
    private readonly modules: MessagingModules,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const dataSource = dataSourceOf(this.moduleRef, this.module);
    this.modules.add(this.module, dataSource);
    this.relay = new OutboxRelay({ module: this.module, dataSource, transport: this.transport, options: this.options });
    await this.relay.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.relay?.stop();
  }
}

/** Injection token of a module's OutboxRelayHost; its `relay` is set once the application has bootstrapped. */
export function relayToken(module: string): string {
  return `OutboxRelay:${module}`;
}

@Global()
@Module({})
export class MessagingModule {
  /** Once per application: transport, dispatcher, handler discovery, relay options, dead letters and admin endpoints. */
  static forRoot(options: MessagingOptions = {}): DynamicModule {
    const relayOptions = resolveRelayOptions(options.relay);
    return {
      module: MessagingModule,
      global: true,
      imports: [DiscoveryModule],
      controllers: [MessagingAdminController],
      providers: [
        { provide: RELAY_OPTIONS, useValue: relayOptions },
        { provide: MESSAGING_ADMIN_TOKEN, useValue: options.adminToken },
        { provide: HandlerRegistry, useValue: new HandlerRegistry() },
        { provide: MessageCatalog, useValue: new MessageCatalog() },
        MessagingModules,
        {
          provide: MessageDispatcher,
          inject: [HandlerRegistry, ModuleRef, MessageCatalog],
          useFactory: (registry: HandlerRegistry, moduleRef: ModuleRef, catalog: MessageCatalog) =>
            new MessageDispatcher(registry, (module) => dataSourceOf(moduleRef, module), undefined, catalog),
        },
        options.bullmq
          ? {
              provide: MESSAGE_TRANSPORT,
              inject: [MessageDispatcher, BullMqPeers, MessagingModules, HandlerRegistry],
              useFactory: (dispatcher: MessageDispatcher, peers: BullMqPeers, modules: MessagingModules, registry: HandlerRegistry) =>
                new BullMqRoutingTransport(
                  new InProcessTransport(dispatcher),
                  peers.clients,
                  (module) => modules.has(module),
                  (type) => registry.subscriptionsFor(type).length > 0,
                  Object.fromEntries(Object.entries(options.bullmq?.routes ?? {}).map(([peer, types]) => [peer, new Set(types)])),
                ),
            }
          : {
              provide: MESSAGE_TRANSPORT,
              inject: [MessageDispatcher],
              useFactory: (dispatcher: MessageDispatcher) => options.transport?.(dispatcher) ?? new InProcessTransport(dispatcher),
            },
        ...(options.bullmq ? bullMqProviders(options.bullmq, relayOptions) : []),
        { provide: DeadLetters, inject: [MessagingModules], useFactory: (modules: MessagingModules) => new DeadLetters(modules) },
        MessageHandlerExplorer,
        AdminTokenGuard,
      ],
      exports: [RELAY_OPTIONS, HandlerRegistry, MessageCatalog, MessagingModules, MessageDispatcher, MESSAGE_TRANSPORT, DeadLetters],
    };
  }

  /**
   * In a business module: an injectable `Outbox` for `module` (`@InjectOutbox('billing')`) and its relay, started on
   * application bootstrap and drained on shutdown. Needs MessagingModule.forRoot() and the module's DataSource
   * (DatabaseModule.forModule) with messagingMigrations() among its migrations.
   */
  static forModule(
    module: string,
    declarations: { publishes?: readonly MessageContract[]; consumes?: readonly string[] } = {},
  ): DynamicModule {
    assertModuleName(module);
    return {
      module: MessagingModuleHost,
      providers: [
        {
          provide: outboxToken(module),
          inject: [MessageCatalog],
          useFactory: (catalog: MessageCatalog) => {
            catalog.declare(module, declarations.publishes ?? []);
            if (declarations.consumes) catalog.declareConsumes(module, declarations.consumes);
            return new Outbox(module, catalog);
          },
        },
        {
          provide: relayToken(module),
          inject: [ModuleRef, MESSAGE_TRANSPORT, RELAY_OPTIONS, MessagingModules],
          useFactory: (moduleRef: ModuleRef, transport: MessageTransport, options: RelayOptions, modules: MessagingModules) =>
            new OutboxRelayHost(module, moduleRef, transport, options, modules),
        },
      ],
      exports: [outboxToken(module), relayToken(module)],
    };
  }
}

/** Host of one module's outbox and relay (a separate class so forModule() calls don't merge with forRoot()). */
@Module({})
export class MessagingModuleHost {}
