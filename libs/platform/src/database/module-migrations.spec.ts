import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrationsIn } from './module-migrations';

/** A migrations/ folder written as plain CommonJS (as nest build leaves it in dist/). */
function folderWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mf-migrations-'));
  for (const [file, source] of Object.entries(files)) writeFileSync(path.join(dir, file), source);
  return dir;
}
const migration = (name: string) => `exports.${name} = class ${name} { up() {} down() {} };`;

describe('migrationsIn', () => {
  const dirs: string[] = [];
  const folder = (files: Record<string, string>) => {
    const dir = folderWith(files);
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('takes every migration file in timestamp order, and skips declarations, maps and other files', () => {
    const dir = folder({
      '1796000000000-add-fees.js': migration('AddFees1796000000000'),
      '1732700000000-create-billing.js': migration('CreateBilling1732700000000'),
      '1732700000000-create-billing.d.ts': 'export declare class CreateBilling1732700000000 {}',
      '1732700000000-create-billing.js.map': '{}',
      'README.md': 'not a migration',
    });
    expect(migrationsIn(dir).map((m) => m.name)).toEqual(['CreateBilling1732700000000', 'AddFees1796000000000']);
  });

  it("refuses a file whose class does not end with the file's timestamp, or that exports no single migration", () => {
    expect(() => migrationsIn(folder({ '1796000000000-add-fees.js': migration('AddFees1700000000000') }))).toThrow(
      /must end with the file's timestamp 1796000000000/,
    );
    expect(() => migrationsIn(folder({ '1796000000000-add-fees.js': 'exports.x = 1;' }))).toThrow(/exactly one migration class/);
  });
});
