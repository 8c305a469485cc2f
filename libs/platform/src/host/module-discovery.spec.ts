import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/app-config';
import { discoverModules } from './module-discovery';

/** A libs/ folder of a fork: files written as plain CommonJS so the test needs no build. */
function libsWith(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'mf-libs-'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), source);
  }
  return root;
}

const loaded = (globalThis as { __loadedModules?: string[] }).__loadedModules ?? [];
(globalThis as { __loadedModules?: string[] }).__loadedModules = loaded;

describe('discoverModules', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const libs = (files: Record<string, string>) => {
    const dir = libsWith(files);
    dirs.push(dir);
    return dir;
  };

  it('finds every lib with a public entry but the platform, reading only its contracts until it is loaded', () => {
    const dir = libs({
      'platform/src/index.js': `exports.PlatformModule = class {};`,
      'notes/README.md': 'not a module: no src/index',
      'shipping/src/index.js': `globalThis.__loadedModules.push('shipping'); exports.ShippingModule = class ShippingModule {};`,
      'shipping/src/contracts/index.js': `exports.shippingConsumes = ['orders.order-confirmed.v1'];`,
      'gift_cards/src/index.js': [
        `globalThis.__loadedModules.push('gift_cards');`,
        `class GiftCardsModule {}`,
        `exports.GiftCardsModule = GiftCardsModule;`,
        `exports.configure = (config) => ({ module: GiftCardsModule, providers: [{ provide: 'PORT', useValue: config.PORT }] });`,
      ].join('\n'),
      'gift_cards/src/contracts/index.js': `exports.giftCardsConsumes = [];`,
    });
    const modules = discoverModules(dir);
    expect(modules.map((m) => [m.name, m.consumes])).toEqual([
      ['gift_cards', []],
      ['shipping', ['orders.order-confirmed.v1']],
    ]);
    expect(loaded).toEqual([]); // discovering loads no module's code

    expect((modules[1].load() as { name: string }).name).toBe('ShippingModule');
    expect(loaded).toEqual(['shipping']);
    // configure(config) when the module exports it and the host has a configuration; the class as is otherwise
    expect(modules[0].load(loadConfig({ PORT: '4100' }))).toMatchObject({ providers: [{ provide: 'PORT', useValue: 4100 }] });
    expect((modules[0].load() as { name: string }).name).toBe('GiftCardsModule');
  });

  it('says what a module is missing', () => {
    const noConsumes = libs({ 'shipping/src/index.js': `exports.ShippingModule = class {};`, 'shipping/src/contracts/index.js': `` });
    expect(() => discoverModules(noConsumes)).toThrow(
      'libs/shipping/src/contracts must export shippingConsumes: the message types shipping handles ([] if none)',
    );
    const noContracts = libs({ 'shipping/src/index.js': `exports.ShippingModule = class {};` });
    expect(() => discoverModules(noContracts)).toThrow(/libs\/shipping\/src\/contracts must export shippingConsumes/);

    const misnamed = libs({
      'shipping/src/index.js': `exports.Shipping = class {};`,
      'shipping/src/contracts/index.js': `exports.shippingConsumes = [];`,
    });
    const [shipping] = discoverModules(misnamed);
    expect(() => shipping.load()).toThrow("libs/shipping/src/index must export ShippingModule, the module's Nest module.");

    const badName = libs({ 'Gift-Cards/src/index.js': `exports.GiftCardsModule = class {};` });
    expect(() => discoverModules(badName)).toThrow(/libs\/Gift-Cards: .* lower-case letters, digits and _/);
  });

  it("finds this repository's modules with what their contracts say they consume", () => {
    const modules = discoverModules(); // a fork's own modules are found too
    expect(modules.map((m) => m.name)).toEqual(expect.arrayContaining(['billing', 'inventory', 'orders']));
    expect(modules.find((m) => m.name === 'billing')?.consumes).toEqual(['billing.capture-payment.v1', 'billing.refund-payment.v1']);
  });
});
