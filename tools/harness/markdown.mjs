// Generated sections of the docs (docs/benchmarks.md, docs/drills.md): only the text between two markers is
// rewritten, so the hand-written parts around it stay.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Replaces what lies between `start` and `end` (markers included, so `section` must begin with `start` and end
 * with `end`); appends the section, after `header` for a new file, when the markers are missing. The result is
 * formatted with the project's Prettier settings, so `npm run lint` stays clean after a run.
 */
export async function writeGeneratedSection(file, section, { start, end, header }) {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const s = text.indexOf(start);
  const e = text.indexOf(end);
  if (s >= 0 && e > s) text = text.slice(0, s) + section + text.slice(e + end.length);
  else text = `${text || header}${text ? '\n' : ''}${section}\n`;
  try {
    const prettier = await import('prettier');
    text = await prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
  } catch (error) {
    console.warn(`not formatted with Prettier (${error instanceof Error ? error.message : String(error)})`);
  }
  writeFileSync(file, text);
}
