import {
  type AppConfig,
  type DatabaseServer,
  type HostPlacement,
  type Running,
  assertPlacementReady,
  assertSafeToServe,
  configOrExit as loadOrExit,
  discoverModules,
  platformOptions,
  serve,
  startDatabaseServer,
} from '@app/platform';
import type { LoggerService } from '@nestjs/common';
import { AppModule, checkRemoteModules, routesTo } from './app.module';

/** Loads the configuration, REMOTE_MODULES included, or exits 78 naming each bad setting. */
export function configOrExit(): AppConfig {
  return loadOrExit((config) => (checkRemoteModules(config.REMOTE_MODULES), assertSafeToServe(config), config));
}

/**
 * Where this monolith stands: alone (nothing remote: in-process transport, no Redis), or the host `monolith` among
 * the services of REMOTE_MODULES (PEER_HOSTS overrides the list), each sent the messages its module consumes.
 */
export function placement(config: AppConfig): HostPlacement | undefined {
  if (config.REMOTE_MODULES.length === 0) return undefined;
  const peers = config.PEER_HOSTS ?? config.REMOTE_MODULES;
  return { host: 'monolith', peers, routes: routesTo(peers) };
}

/** The modules that run in this process (all but REMOTE_MODULES). */
export function hostedModuleNames(config: AppConfig): string[] {
  return discoverModules()
    .map((m) => m.name)
    .filter((m) => !config.REMOTE_MODULES.includes(m));
}

/**
 * The monolith's composition, configured. `forMigrations`: without the transport to the other hosts, for a process
 * that only provisions and migrates (it must not need Redis).
 */
export function appModule(config: AppConfig, database: DatabaseServer, forMigrations = false) {
  const where = forMigrations ? undefined : placement(config);
  return AppModule.forRoot(platformOptions(config, database, where, hostedModuleNames(config).length), {
    remote: config.REMOTE_MODULES,
    config,
  });
}

/** Starts the database (embedded unless DATABASE_URL), migrates the hosted modules and serves HTTP (and BullMQ). */
export async function start(config: AppConfig, logger: LoggerService): Promise<Running> {
  const remote = config.REMOTE_MODULES;
  await assertPlacementReady(config, placement(config), `REMOTE_MODULES=${remote.join(',')}`);
  const database = await startDatabaseServer(config);
  return serve({
    name: remote.length > 0 ? `Monolith-First (without ${remote.join(', ')})` : 'Monolith-First',
    config,
    database,
    module: appModule(config, database),
    port: config.PORT,
    placement: placement(config),
    openApi: {
      title: 'Monolith-First',
      description:
        'Orders, inventory and billing: one deployable, three modules that own their data. Errors are RFC 9457 problem+json; money is integer cents.',
    },
    logger,
  });
}
