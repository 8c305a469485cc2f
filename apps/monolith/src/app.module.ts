/* eslint-disable @typescript-eslint/no-require-imports -- the loaders below require a module only when it runs here */
import { billingConsumes } from '@app/billing/contracts';
import { inventoryConsumes } from '@app/inventory/contracts';
import { ordersConsumes } from '@app/orders/contracts';
import { ConfigError, PlatformModule, type PlatformOptions } from '@app/platform';
import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import type * as Orders from './modules/orders';

type OrdersOptions = Parameters<typeof Orders.OrdersModule.forRoot>[0];
type Import = NonNullable<ModuleMetadata['imports']>[number];

export interface MonolithModulesOptions {
  /** Modules that run in their own service (REMOTE_MODULES): not loaded here; their messages go over BullMQ. */
  remote?: readonly string[];
  orders?: OrdersOptions;
}

/**
 * Every business module the monolith can host, each behind a loader: a module listed in REMOTE_MODULES is never
 * required, so not one file of its code is loaded into this process (its contracts are, by the modules that talk to
 * it: they are its published API). The files in ./modules re-export each module's public entry.
 */
export const MONOLITH_MODULES: Record<string, (options: MonolithModulesOptions) => Import> = {
  inventory: () => (require('./modules/inventory') as typeof import('./modules/inventory')).InventoryModule,
  billing: () => (require('./modules/billing') as typeof import('./modules/billing')).BillingModule,
  orders: (options) => (require('./modules/orders') as typeof Orders).OrdersModule.forRoot(options.orders),
};

/** What each module handles, from its contracts (each module checks its handlers against it when it starts). */
export const MODULE_CONSUMES: Record<string, readonly string[]> = {
  inventory: inventoryConsumes,
  billing: billingConsumes,
  orders: ordersConsumes,
};

/** A peer that is a module's own service (its host is named after the module) is sent only what that module consumes. */
export function routesTo(peers: readonly string[]): Record<string, readonly string[]> {
  return Object.fromEntries(peers.filter((peer) => peer in MODULE_CONSUMES).map((peer) => [peer, MODULE_CONSUMES[peer]]));
}

/** REMOTE_MODULES must name modules this monolith knows, and not all of them. */
export function checkRemoteModules(remote: readonly string[]): readonly string[] {
  const known = Object.keys(MONOLITH_MODULES);
  const unknown = remote.filter((m) => !known.includes(m));
  if (unknown.length > 0) {
    throw new ConfigError(
      `Invalid configuration:\n  REMOTE_MODULES: ${unknown.map((m) => `'${m}'`).join(', ')} is not a module of the monolith (known: ${known.join(', ')}).`,
    );
  }
  if (remote.length === known.length) {
    throw new ConfigError('Invalid configuration:\n  REMOTE_MODULES: lists every module; the monolith would host nothing.');
  }
  return remote;
}

/** The modules that run in this process, loaded now. */
export function hostedModules(options: MonolithModulesOptions = {}): Import[] {
  const remote = checkRemoteModules(options.remote ?? []);
  return Object.entries(MONOLITH_MODULES)
    .filter(([name]) => !remote.includes(name))
    .map(([, load]) => load(options));
}

/** The monolith: the business modules not listed in REMOTE_MODULES, on one platform, each in its own schema. */
@Module({})
export class AppModule {
  static forRoot(platform: PlatformOptions, modules: MonolithModulesOptions = {}): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forRoot(platform), ...hostedModules(modules)] };
  }
}
