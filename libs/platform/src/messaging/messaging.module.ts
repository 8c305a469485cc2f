import {
  type DynamicModule,
  Global,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModuleRef } from '@nestjs/core';
import { moduleDbToken } from '../database/database.module';
import type { ModuleDb } from '../database/module-db';
import { MessageCatalog } from './catalogue/catalog';
import type { MessageContract } from './core/contract';
import { DeliveryGate } from './core/delivery-gate';
import { MessageDispatcher } from './core/dispatcher';
import { HandlerRegistry, subscriptionsOf } from './core/handlers';
import { type MessagingObserver, NO_MESSAGING_OBSERVER } from './core/observer';
import { Outbox, assertModuleName, outboxToken } from './core/outbox';
import { RelayPresence } from './core/presence';
import { OutboxRelay } from './core/relay';
import { type RelayOptions, type RelayOptionsInput, resolveRelayOptions } from './core/relay-options';
import { AdminTokenGuard, MESSAGING_ADMIN_TOKEN, MessagingAdminController } from './operations/admin.controller';
import { DeadLetters, MessagingModules } from './operations/dead-letters';
import { FaultInjection, FaultInjectionController, type FaultInjectionMode, PLATFORM_MESSAGE_TYPES } from './operations/fault-injection';
import { InProcessTransport } from './transports/in-process';
import { MESSAGE_TRANSPORT, type MessageTransport } from './transports/transport';
import { BullMqPeers, type BullMqMessagingOptions, bullMqProviders } from './transports/bullmq/bullmq-messaging';
import { BullMqRoutingTransport } from './transports/bullmq/bullmq-routing-transport';

export interface MessagingOptions {
  /** Relay tuning: poll interval, batch size, lease, retry (base, cap, attempts), suspects, retention windows. */
  relay?: RelayOptionsInput;
  /** Deliveries running at once in this process, across modules (default 16). */
  concurrency?: number;
  /** Carries messages from relays to consumers. Default: InProcessTransport (the local dispatcher). */
  transport?: (dispatcher: MessageDispatcher) => MessageTransport;
  /**
   * This process is one host among several (some modules run remote): messages go to the local subscribers and,
   * over BullMQ, to every peer host; the app consumes its own queue after `connectBullMq(app)`. Overrides `transport`.
   */
  bullmq?: BullMqMessagingOptions;
  /** Bearer token of the admin endpoints (usually AppConfig.ADMIN_TOKEN). Unset: they refuse every request. */
  adminToken?: string;
  /** FAULT_INJECTION: `crash` adds a consumer that kills the process on one message type (failure drills only). */
  faultInjection?: FaultInjectionMode;
  /** Metrics and traces of the outbox, relays, dispatcher and BullMQ worker (the platform's observability). Default: none. */
  observer?: MessagingObserver;
}

/** Injection token of the process's MessagingObserver. */
export const MESSAGING_OBSERVER = Symbol('MESSAGING_OBSERVER');

/** Injection token of the resolved relay options. */
export const RELAY_OPTIONS = Symbol('RELAY_OPTIONS');

function moduleDbOf(moduleRef: ModuleRef, module: string): ModuleDb {
  try {
    return moduleRef.get<ModuleDb>(moduleDbToken(module), { strict: false });
  } catch {
    throw new Error(
      `Messaging needs the '${module}' database, which is not in this application. Import ` +
        `DatabaseModule.forModule({ name: '${module}', migrations: [...messagingMigrations(<timestamp>), ...] }) in the ${module} module.`,
    );
  }
}

function outboxOf(moduleRef: ModuleRef, module: string): Outbox {
  try {
    return moduleRef.get<Outbox>(outboxToken(module), { strict: false });
  } catch {
    throw new Error(`The '${module}' module handles messages but has no outbox: import MessagingModule.forModule('${module}', ...) in it.`);
  }
}

/**
 * Finds `@MessageConsumer` providers and fills the subscription table; checks every consumer module has a database,
 * and that a module's handlers are exactly the messages it declared it consumes (when it declared).
 */
@Injectable()
export class MessageHandlerExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registry: HandlerRegistry,
    private readonly moduleRef: ModuleRef,
    private readonly catalog: MessageCatalog,
    @Optional() private readonly faults?: FaultInjection,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      for (const subscription of subscriptionsOf(instance)) this.registry.add(subscription);
    }
    // Alphabetically first, so one topology's process always picks the same module.
    const crashModule = [...this.registry.consumerModules()].sort()[0];
    if (this.faults && crashModule) this.faults.register(this.registry, crashModule);
    for (const module of this.registry.consumerModules()) moduleDbOf(this.moduleRef, module);
    for (const module of this.catalog.consumerDeclarations()) checkConsumes(module, this.catalog, this.registry);
  }
}

/** Hosts route to a remote module only what it declared it consumes: a handler outside the list would never be called. */
function checkConsumes(module: string, catalog: MessageCatalog, registry: HandlerRegistry): void {
  const declared = catalog.consumesOf(module) ?? new Set<string>();
  const handled = new Set(
    registry
      .all()
      .filter((s) => s.module === module && !PLATFORM_MESSAGE_TYPES.has(s.contract.type))
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

/** The process's relay presence (owner lock + LISTEN), closed after every relay has drained. */
@Injectable()
export class RelayPresenceHost implements OnApplicationShutdown {
  readonly presence = new RelayPresence();

  async onApplicationShutdown(): Promise<void> {
    await this.presence.stop();
  }
}

/** Runs one module's relay for the life of the application (provided as `relayToken(module)`). */
export class OutboxRelayHost implements OnApplicationBootstrap, OnModuleDestroy {
  relay?: OutboxRelay;

  constructor(
    private readonly module: string,
    private readonly moduleRef: ModuleRef,
    private readonly outbox: Outbox,
    private readonly transport: MessageTransport,
    private readonly options: RelayOptions,
    private readonly modules: MessagingModules,
    private readonly gate: DeliveryGate,
    private readonly presence: RelayPresenceHost,
    private readonly observer: MessagingObserver,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const db = moduleDbOf(this.moduleRef, this.module);
    this.modules.add(db);
    this.relay = new OutboxRelay({
      module: this.module,
      db,
      outbox: this.outbox,
      transport: this.transport,
      gate: this.gate,
      presence: this.presence.presence,
      options: this.options,
      observer: this.observer,
    });
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
    const bullmq = options.bullmq;
    const observer = options.observer ?? NO_MESSAGING_OBSERVER;
    return {
      module: MessagingModule,
      global: true,
      imports: [DiscoveryModule],
      controllers: [MessagingAdminController, ...(options.faultInjection === 'crash' ? [FaultInjectionController] : [])],
      providers: [
        { provide: RELAY_OPTIONS, useValue: relayOptions },
        { provide: MESSAGING_OBSERVER, useValue: observer },
        { provide: MESSAGING_ADMIN_TOKEN, useValue: options.adminToken },
        { provide: HandlerRegistry, useValue: new HandlerRegistry() },
        { provide: MessageCatalog, useValue: new MessageCatalog() },
        { provide: DeliveryGate, useValue: new DeliveryGate(options.concurrency ?? 16) },
        RelayPresenceHost,
        MessagingModules,
        {
          provide: MessageDispatcher,
          inject: [HandlerRegistry, ModuleRef],
          useFactory: (registry: HandlerRegistry, moduleRef: ModuleRef) =>
            new MessageDispatcher(
              registry,
              (module) => moduleDbOf(moduleRef, module),
              (module) => outboxOf(moduleRef, module),
              undefined,
              observer,
            ),
        },
        bullmq
          ? {
              provide: MESSAGE_TRANSPORT,
              inject: [MessageDispatcher, BullMqPeers, MessagingModules],
              useFactory: (dispatcher: MessageDispatcher, peers: BullMqPeers, modules: MessagingModules) =>
                new BullMqRoutingTransport(
                  new InProcessTransport(dispatcher),
                  peers.clients,
                  (module) => modules.has(module),
                  Object.fromEntries(Object.entries(bullmq.routes ?? {}).map(([peer, types]) => [peer, new Set(types)])),
                ),
            }
          : {
              provide: MESSAGE_TRANSPORT,
              inject: [MessageDispatcher],
              useFactory: (dispatcher: MessageDispatcher) => options.transport?.(dispatcher) ?? new InProcessTransport(dispatcher),
            },
        ...(bullmq ? bullMqProviders(bullmq, relayOptions, observer) : []),
        { provide: DeadLetters, inject: [MessagingModules], useFactory: (modules: MessagingModules) => new DeadLetters(modules) },
        ...(options.faultInjection === 'crash' ? [{ provide: FaultInjection, useValue: new FaultInjection() }] : []),
        MessageHandlerExplorer,
        AdminTokenGuard,
      ],
      exports: [
        RELAY_OPTIONS,
        MESSAGING_OBSERVER,
        MESSAGING_ADMIN_TOKEN,
        AdminTokenGuard,
        HandlerRegistry,
        MessageCatalog,
        MessagingModules,
        MessageDispatcher,
        MESSAGE_TRANSPORT,
        DeadLetters,
        DeliveryGate,
        RelayPresenceHost,
        ...(bullmq ? [BullMqPeers] : []), // health and metrics read the peers' queues
      ],
    };
  }

  /**
   * In a business module: an injectable `Outbox` for `module` (`@InjectOutbox('billing')`) and its relay, started on
   * application bootstrap and drained on shutdown. Needs MessagingModule.forRoot() and the module's database
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
          inject: [MessageCatalog, MESSAGING_OBSERVER],
          useFactory: (catalog: MessageCatalog, observer: MessagingObserver) => {
            catalog.declare(module, declarations.publishes ?? []);
            if (declarations.consumes) catalog.declareConsumes(module, declarations.consumes);
            return new Outbox(module, catalog, observer);
          },
        },
        {
          provide: relayToken(module),
          inject: [
            ModuleRef,
            outboxToken(module),
            MESSAGE_TRANSPORT,
            RELAY_OPTIONS,
            MessagingModules,
            DeliveryGate,
            RelayPresenceHost,
            MESSAGING_OBSERVER,
          ],
          useFactory: (
            moduleRef: ModuleRef,
            outbox: Outbox,
            transport: MessageTransport,
            options: RelayOptions,
            modules: MessagingModules,
            gate: DeliveryGate,
            presence: RelayPresenceHost,
            observer: MessagingObserver,
          ) => new OutboxRelayHost(module, moduleRef, outbox, transport, options, modules, gate, presence, observer),
        },
      ],
      exports: [outboxToken(module), relayToken(module)],
    };
  }
}

/** Host of one module's outbox and relay (a separate class so forModule() calls don't merge with forRoot()). */
@Module({})
export class MessagingModuleHost {}
