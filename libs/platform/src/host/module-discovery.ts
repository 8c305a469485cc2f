/* eslint-disable @typescript-eslint/no-require-imports -- a module's code is required only when a host runs it */
import type { ModuleMetadata } from '@nestjs/common';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { AppConfig } from '../config/app-config';

/** What a host puts in its `imports`: a Nest module class or a dynamic module. */
export type ModuleImport = NonNullable<ModuleMetadata['imports']>[number];

/**
 * What a module's public entry may export as `configure` when it needs settings: the host calls it with its
 * configuration instead of importing `<Name>Module` as is (e.g. orders reads its saga timing).
 */
export type ConfigureModule = (config: AppConfig) => ModuleImport;

/** A business module found under libs/: its name, the messages it consumes (from its contracts) and how to load it. */
export interface DiscoveredModule {
  /** The folder name: also its schema, its role, its queue and its name in REMOTE_MODULES. */
  readonly name: string;
  /** `<name>Consumes` from its contracts. */
  readonly consumes: readonly string[];
  /**
   * Requires its public entry (only now: a module that runs elsewhere is never loaded) and returns what to import:
   * `configure(config)` when the entry exports one and a configuration is given, else `<Name>Module`.
   */
  load(config?: AppConfig): ModuleImport;
}

/** Libs under libs/ that are plumbing, not business modules (as in tools/boundary-check/config.mjs). */
export const PLATFORM_LIBS: readonly string[] = ['platform'];

/**
 * libs/ next to this file's lib: the repository's libs/ when run from source (Jest), dist/libs/ when built (nest build
 * compiles every lib there, so the same relative path holds).
 */
const DEFAULT_LIBS_DIR = path.resolve(__dirname, '../../..');

const found = new Map<string, DiscoveredModule[]>();

/**
 * The business modules of this repository, by name: every libs/<name> but the platform with a src/index (its public
 * entry, exporting `<Name>Module`) and src/contracts exporting `<name>Consumes`. Adding libs/shipping is all it takes
 * for a host to find it; docs/adding-a-module.md ("What registers a module"). Reads only the contracts.
 */
export function discoverModules(libsDir: string = DEFAULT_LIBS_DIR): readonly DiscoveredModule[] {
  const known = found.get(libsDir);
  if (known) return known;
  const modules = readdirSync(libsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !PLATFORM_LIBS.includes(entry.name))
    .filter((entry) => hasIndex(path.join(libsDir, entry.name, 'src')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => discovered(libsDir, name));
  found.set(libsDir, modules);
  return modules;
}

function discovered(libsDir: string, name: string): DiscoveredModule {
  const where = `libs/${name}`;
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) {
    throw new Error(
      `${where}: a module's folder name is its schema, database role and queue name, so it must be lower-case letters, ` +
        `digits and _ (e.g. gift_cards). Rename the folder.`,
    );
  }
  const words = name.split('_');
  const consumesName = words.map((w, i) => (i === 0 ? w : capitalise(w))).join('') + 'Consumes';
  const moduleName = words.map(capitalise).join('') + 'Module';
  const src = path.join(libsDir, name, 'src');
  const contracts = path.join(src, 'contracts');
  const consumes = hasIndex(contracts) ? (require(contracts) as Record<string, unknown>)[consumesName] : undefined;
  if (!Array.isArray(consumes) || !consumes.every((type) => typeof type === 'string')) {
    throw new Error(
      `${where}/src/contracts must export ${consumesName}: the message types ${name} handles ([] if none). Hosts route ` +
        `messages to the module by it. See docs/adding-a-module.md.`,
    );
  }
  return {
    name,
    consumes,
    load(config) {
      const entry = require(src) as Record<string, unknown>;
      if (config && typeof entry.configure === 'function') return (entry.configure as ConfigureModule)(config);
      const module = entry[moduleName];
      if (typeof module !== 'function') {
        throw new Error(`${where}/src/index must export ${moduleName}, the module's Nest module. See docs/adding-a-module.md.`);
      }
      return module as ModuleImport;
    },
  };
}

function hasIndex(dir: string): boolean {
  return existsSync(path.join(dir, 'index.ts')) || existsSync(path.join(dir, 'index.js'));
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
