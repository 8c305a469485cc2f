import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { AppConfigSchema, loadConfig } from './app-config';
import { loadEnvFileIfPresent } from './env-file';

describe('loadEnvFileIfPresent', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mf-env-'));
  const names = ['MF_ENV_TEST_FROM_FILE', 'MF_ENV_TEST_BOTH', 'MF_ENV_TEST_EMPTY', 'MF_ENV_TEST_QUOTED'];
  afterEach(() => names.forEach((n) => delete process.env[n]));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills in what the environment lacks; a variable already set wins, even when empty', () => {
    const file = path.join(dir, '.env');
    writeFileSync(
      file,
      [
        '# a comment',
        'MF_ENV_TEST_FROM_FILE=from-file',
        'MF_ENV_TEST_BOTH=from-file',
        'MF_ENV_TEST_EMPTY=from-file',
        'MF_ENV_TEST_QUOTED="a value # not a comment"',
      ].join('\n'),
    );
    process.env.MF_ENV_TEST_BOTH = 'from-environment';
    process.env.MF_ENV_TEST_EMPTY = '';
    expect(loadEnvFileIfPresent(file)).toBe(file);
    expect(process.env.MF_ENV_TEST_FROM_FILE).toBe('from-file');
    expect(process.env.MF_ENV_TEST_BOTH).toBe('from-environment');
    expect(process.env.MF_ENV_TEST_EMPTY).toBe('');
    expect(process.env.MF_ENV_TEST_QUOTED).toBe('a value # not a comment');
  });

  it('does nothing when there is no file', () => {
    expect(loadEnvFileIfPresent(path.join(dir, 'missing.env'))).toBeUndefined();
  });

  it('.env.example lists every setting, and the values it sets are the defaults', () => {
    const text = readFileSync(path.resolve(__dirname, '../../../../.env.example'), 'utf8');
    const set = parseEnv(text); // the lines that assign a value; the commented ones are settings without a default
    const listed = [...Object.keys(set), ...[...text.matchAll(/^# ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1])];
    expect(Object.keys(AppConfigSchema.shape).filter((name) => !listed.includes(name))).toEqual([]);
    expect(loadConfig(set)).toEqual(loadConfig({}));
  });
});
