// Human-readable output. Colour only on a TTY (and never with NO_COLOR); the text reads the same
// without it.
import { styleText } from 'node:util';

export function makeStyle(stream) {
  const color = stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  return (format, text) => (color ? styleText(format, text) : text);
}

const plural = (n, word) => `${n} ${n === 1 ? word : word.replace(/y$/, 'ie') + 's'}`;

export function formatViolation(v, style) {
  const where = v.line > 0 ? `${v.from}:${v.line}` : v.from;
  const lines = [`${style('red', '✖')} ${style('bold', where)}`];
  const target = v.import === v.to ? '' : `  ->  ${v.to}`;
  lines.push(`    import  '${v.import}'${target}`);
  const others = v.imports.slice(1).map((s) => `'${s}'`);
  if (others.length > 0) lines.push(`            (also written as ${others.join(', ')})`);
  if (v.cycle) lines.push(`    cycle   ${v.cycle.join(' -> ')}`);
  lines.push(`    rule    ${style('yellow', v.rule)}: ${v.meaning}`);
  lines.push(`    fix     ${v.fix}`);
  return lines.join('\n');
}

export function formatReport({ fresh, known, gone, stats, baselinePath }, style) {
  const out = [];
  for (const v of fresh) out.push(formatViolation(v, style), '');
  const platform = stats.platformLibs > 0 ? ` + ${plural(stats.platformLibs, 'platform lib')}` : '';
  const scope = `${plural(stats.modules, 'module')}${platform}, ${plural(stats.apps, 'app')}, ${plural(stats.files, 'file')} checked in ${stats.ms} ms`;
  const notes = [];
  if (known.length > 0) notes.push(`${plural(known.length, 'known violation')} in ${baselinePath} not counted`);
  if (gone.length > 0) {
    notes.push(`${plural(gone.length, 'baseline entry')} no longer found: shrink the baseline with --update-baseline`);
  }
  if (fresh.length === 0) {
    out.push(`${style('green', '✔')} ${scope}, no boundary violations${notes.length ? ` (${notes.join('; ')})` : ''}.`);
  } else {
    const rules = new Set(fresh.map((v) => v.rule));
    const files = new Set(fresh.map((v) => v.from));
    out.push(
      style('red', `✖ ${plural(fresh.length, 'boundary violation')} of ${plural(rules.size, 'rule')} in ${plural(files.size, 'file')}`) +
        ` (${scope}).`,
    );
    for (const note of notes) out.push(`  ${note}.`);
    out.push('  The rules and how to fix a violation: docs/boundaries.md.');
  }
  return out.join('\n');
}
