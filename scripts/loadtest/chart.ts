// Latency over time as an SVG line chart: p95 per operation per second of the run.
//
// Written by hand rather than with a charting library: the chart is one kind of plot (a few
// polylines, two axes, a legend), a library that renders SVG without a browser (vega, d3 with a DOM)
// would add dozens of packages for it, and this writer's output is plain text a test can read.

export interface Series {
  name: string;
  /** [second, milliseconds] points; seconds without responses are left out. */
  points: Array<[number, number]>;
}

const WIDTH = 760;
const HEIGHT = 360;
const MARGIN = { top: 40, right: 170, bottom: 44, left: 64 };
/** Colour-blind-safe palette (Okabe–Ito). */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A step of 1, 2 or 5 × 10^k giving about `count` ticks up to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

const label = (value: number) => (Number.isInteger(value) ? String(value) : value.toPrecision(3).replace(/\.?0+$/, ''));

export function latencyChart(title: string, series: Series[], durationS: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxY = Math.max(1e-3, ...series.flatMap((s) => s.points.map(([, y]) => y)));
  const yStep = niceStep(maxY);
  const yTop = Math.ceil(maxY / yStep) * yStep;
  // The run's length, or further when a series has a point beyond it (a result written before the
  // trailing partial second was folded in): every point is drawn on the axis, none past its end.
  const xMax = Math.max(1, Math.ceil(durationS), ...series.flatMap((s) => s.points.map(([sec]) => Math.ceil(sec + 1))));
  const xStep = niceStep(xMax, 6);
  const x = (s: number) => MARGIN.left + (s / xMax) * plotW;
  const y = (ms: number) => MARGIN.top + plotH - (ms / yTop) * plotH;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<title>${escape(title)}</title>`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(`<text x="${MARGIN.left}" y="24" font-size="14" font-weight="bold">${escape(title)}</text>`);
  for (let v = 0; v <= yTop + yStep / 2; v += yStep) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${label(v)}</text>`);
  }
  for (let s = 0; s <= xMax; s += xStep) {
    parts.push(`<line x1="${x(s).toFixed(1)}" x2="${x(s).toFixed(1)}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${label(s)}</text>`);
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">seconds into the run</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">p95 latency (ms)</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    // Each point sits in the middle of its second.
    const points = s.points.map(([sec, ms]) => `${x(sec + 0.5).toFixed(1)},${y(ms).toFixed(1)}`).join(' ');
    if (s.points.length) parts.push(`<polyline data-series="${escape(s.name)}" fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>`);
    const ly = MARGIN.top + 8 + i * 18;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 16}" x2="${WIDTH - MARGIN.right + 36}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 42}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
