// Latency by percentile, as HdrHistogram's plotter draws it: x = 1/(1-p) on a log scale, y = latency.
// A hand-written SVG, so the benchmark needs no charting dependency.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const MAX_NINES = 4; // 99.99 %: beyond this a run of a few thousand orders has no data

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceCeil(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * series: [{ label, histogram (µs), color?, dash? (an SVG dash array) }]; targets: [{ label, ms }] horizontal reference lines.
 * Returns the SVG text.
 */
export function latencyByPercentileSvg({ title, subtitle, series, targets = [], width = 1000, height }) {
  const legendRows = Math.ceil(series.length / (series.length > 2 ? 2 : Math.max(1, series.length)));
  height ??= 500 + legendRows * 20;
  const m = { left: 80, right: 24, top: 64, bottom: 76 + legendRows * 20 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const points = series.map((s) => {
    const pts = [];
    for (let x = 0; x <= MAX_NINES + 1e-9; x += 0.01) {
      const p = 100 * (1 - 10 ** -x);
      pts.push([x, s.histogram.getValueAtPercentile(p) / 1000]);
    }
    return pts;
  });
  const values = points.flat().map(([, v]) => v);
  const medians = series.map((s) => s.histogram.getValueAtPercentile(50) / 1000).filter((v) => v > 0);
  // Series far apart (a saturated run beside a healthy one) share the chart only on a log scale.
  const logY = medians.length > 1 && Math.max(...values) / Math.min(...medians) > 30;
  const yMax = niceCeil(Math.max(1, ...values, ...targets.map((t) => t.ms * 1.1)));
  const yMin = logY ? 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values.filter((v) => v > 0))))) : 0;
  const X = (x) => m.left + (x / MAX_NINES) * w;
  const Y = logY
    ? (v) => m.top + h - ((Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * h
    : (v) => m.top + h - (v / yMax) * h;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="17" font-weight="bold">${esc(title)}</text>`,
    `<text x="${width / 2}" y="46" text-anchor="middle" fill="#444">${esc(subtitle)}</text>`,
  );
  // grid and axes
  const yTicks = [];
  if (logY) {
    for (let d = yMin; d <= yMax * 1.0001; d *= 10) for (const k of [1, 2, 5]) if (d * k <= yMax * 1.0001) yTicks.push(d * k);
  } else {
    const raw = yMax / 8;
    const p = 10 ** Math.floor(Math.log10(raw));
    const yStep = [1, 2, 2.5, 5, 10].map((k) => k * p).find((v) => v >= raw);
    for (let v = 0; v <= yMax + 1e-9; v += yStep) yTicks.push(v);
  }
  for (const v of yTicks) {
    out.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 8}" y="${Y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3)).toLocaleString('en-US')}</text>`);
  }
  for (let n = 0; n <= MAX_NINES; n++) {
    const label = n === 0 ? '0%' : `${(100 * (1 - 10 ** -n)).toFixed(n - 2 > 0 ? n - 2 : 0)}%`;
    out.push(`<line x1="${X(n)}" x2="${X(n)}" y1="${m.top}" y2="${m.top + h}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${X(n)}" y="${m.top + h + 20}" text-anchor="middle">${label}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.left + w / 2}" y="${m.top + h + 42}" text-anchor="middle">Percentile (log scale of 1/(1−p))</text>`);
  out.push(
    `<text transform="translate(18 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">Latency, intended send → CONFIRMED (ms${logY ? ', log scale' : ''})</text>`,
  );
  for (const t of targets) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + w}" y1="${Y(t.ms)}" y2="${Y(t.ms)}" stroke="#888" stroke-dasharray="6 4"/>`,
      `<text x="${m.left + w - 6}" y="${Y(t.ms) - 5}" text-anchor="end" fill="#555">${esc(t.label)}</text>`,
    );
  }
  const color = (s, i) => s.color ?? COLORS[i % COLORS.length];
  const dash = (s) => (s.dash ? ` stroke-dasharray="${s.dash}"` : '');
  series.forEach((s, i) => {
    const pts = points[i].map(([x, v]) => `${X(x).toFixed(1)},${Y(v).toFixed(1)}`).join(' ');
    out.push(
      `<polyline points="${pts}" fill="none" stroke="${color(s, i)}" stroke-width="${s.dash ? 2 : 2.5}" stroke-linejoin="round"${dash(s)}/>`,
    );
  });
  // legend below the chart
  const perRow = series.length > 2 ? 2 : series.length;
  series.forEach((s, i) => {
    const y = m.top + h + 62 + Math.floor(i / perRow) * 20;
    const x = m.left + (i % perRow) * (w / perRow);
    out.push(`<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${color(s, i)}" stroke-width="3"${dash(s)}/>`);
    out.push(`<text x="${x + 34}" y="${y + 4}">${esc(s.label)}</text>`);
  });
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
