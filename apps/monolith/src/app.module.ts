import { type AppConfig, ConfigError, type ModuleImport, PlatformModule, type PlatformOptions, discoverModules } from '@app/platform';
import { type DynamicModule, Module } from '@nestjs/common';

export interface MonolithModulesOptions {
  /** Modules that run in their own service (REMOTE_MODULES): not loaded here; their messages go over BullMQ. */
  remote?: readonly string[];
  /** Passed to the `configure(config)` of each module that exports one (docs/adding-a-module.md). */
  config?: AppConfig;
  /** What to import for some modules instead (e.g. tests: `{ orders: OrdersModule.forRoot({ saga }) }`). */
  modules?: Readonly<Record<string, ModuleImport>>;
}

/** What each module handles, from its contracts (each module checks its handlers against it when it starts). */
export function moduleConsumes(): Record<string, readonly string[]> {
  return Object.fromEntries(discoverModules().map((m) => [m.name, m.consumes]));
}

/** A peer that is a module's own service (its host is named after the module) is sent only what that module consumes. */
export function routesTo(peers: readonly string[]): Record<string, readonly string[]> {
  const consumes = moduleConsumes();
  return Object.fromEntries(peers.filter((peer) => peer in consumes).map((peer) => [peer, consumes[peer]]));
}

/** REMOTE_MODULES must name modules this monolith knows, and not all of them. */
export function checkRemoteModules(remote: readonly string[]): readonly string[] {
  const known = discoverModules().map((m) => m.name);
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

/**
 * The modules that run in this process, loaded now: every business module under libs/ (discoverModules) but those in
 * REMOTE_MODULES, which are never required, so not one file of their code is loaded into this process (their
 * contracts are: they are their published API).
 */
export function hostedModules(options: MonolithModulesOptions = {}): ModuleImport[] {
  const remote = checkRemoteModules(options.remote ?? []);
  return discoverModules()
    .filter((m) => !remote.includes(m.name))
    .map((m) => options.modules?.[m.name] ?? m.load(options.config));
}

/** The monolith: the business modules not listed in REMOTE_MODULES, on one platform, each in its own schema. */
@Module({})
export class AppModule {
  static forRoot(platform: PlatformOptions, modules: MonolithModulesOptions = {}): DynamicModule {
    return { module: AppModule, imports: [PlatformModule.forRoot(platform), ...hostedModules(modules)] };
  }
}
