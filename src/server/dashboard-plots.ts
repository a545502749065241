import { colorOf, tickLabel, ticks } from '../report/index.js';

/**
 * The dashboard's two plots as inline SVG: the best-so-far curve and objective vs cost with
 * the Pareto front and constraint lines. Unlike the report plots (standalone files) these sit
 * several to a page, so they use no element ids, give every point a tooltip and its trial
 * number (the page links a click to the table row), and leave title and legend to the HTML.
 */

export interface ScatterPoint {
  trial: number;
  x: number;
  y: number;
}

export interface Guide {
  value: number;
  label: string;
}

/** Colours shared with the page's HTML legends. */
export const PLOT_COLORS = { points: colorOf(0), best: colorOf(0), front: colorOf(1), guide: '#555', trials: '#9aa5b1' } as const;

const W = 560;
const H = 330;
// The top margin holds the constraint labels, above the points rather than over them.
const M = { l: 62, r: 18, t: 24, b: 42 };

export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function fmt(v: number): string {
  if (Math.abs(v) >= 10000 || (Math.abs(v) < 0.01 && v !== 0)) return v.toPrecision(3);
  return String(+v.toFixed(3));
}

function extent(values: number[]): [number, number] {
  if (!values.length) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

interface Axes {
  sx(v: number): number;
  sy(v: number): number;
  parts: string[];
}

function axes(xs: number[], ys: number[], xLabel: string, yLabel: string, integerX = false): Axes {
  const [x0, x1] = extent(xs);
  const [y0, y1] = extent(ys);
  const sx = (v: number) => M.l + ((v - x0) / (x1 - x0)) * (W - M.l - M.r);
  const sy = (v: number) => H - M.b - ((v - y0) / (y1 - y0)) * (H - M.t - M.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12" role="img">`,
  ];
  // Without data, ticks of a made-up range would only mislead.
  const tickAt = (lo: number, hi: number, n: number) => (xs.length && ys.length ? ticks(lo, hi, n) : []);
  for (const t of tickAt(y0, y1, 6)) {
    parts.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eceff3"/>`,
      `<text x="${M.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" fill="#444">${tickLabel(t)}</text>`);
  }
  for (const t of tickAt(x0, x1, 7).filter((t) => !integerX || Number.isInteger(t))) {
    parts.push(`<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${M.t}" y2="${H - M.b}" stroke="#eceff3"/>`,
      `<text x="${sx(t).toFixed(1)}" y="${H - M.b + 16}" text-anchor="middle" fill="#444">${tickLabel(t)}</text>`);
  }
  parts.push(`<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#8a939e"/>`,
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 6}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text transform="translate(14 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  return { sx, sy, parts };
}

const empty = (a: Axes, text: string) =>
  a.parts.push(`<text x="${(M.l + W - M.r) / 2}" y="${(M.t + H - M.b) / 2}" text-anchor="middle" fill="#777">${escapeXml(text)}</text>`);

const dot = (cls: string, x: number, y: number, r: number, fill: string, title: string, trial: number, opacity = 1) =>
  `<circle class="${cls}" data-trial="${trial}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${fill}" fill-opacity="${opacity}"><title>${escapeXml(title)}</title></circle>`;

/** Each evaluation's objective (dots) and the best so far (a step line), by evaluation count. */
export function curvePlot(values: { trial: number; y: number }[], best: number[], objective: string): string {
  const a = axes(values.map((_, i) => i + 1), values.map((v) => v.y), 'evaluations', objective, true);
  if (!values.length) empty(a, 'no evaluated trial yet');
  values.forEach((v, i) => a.parts.push(dot('trial', a.sx(i + 1), a.sy(v.y), 2.5, PLOT_COLORS.trials, `trial ${v.trial}: ${objective} ${fmt(v.y)}`, v.trial)));
  const d = best.map((y, i) => `${i ? `H${a.sx(i + 1).toFixed(1)} V` : `M${a.sx(1).toFixed(1)},`}${a.sy(y).toFixed(1)}`).join(' ');
  if (best.length) a.parts.push(`<path class="best" d="${d}" fill="none" stroke="${PLOT_COLORS.best}" stroke-width="2.2"/>`);
  return a.parts.join('') + '</svg>';
}

/**
 * Objective vs cost: every point, the Pareto front (lower cost, better objective) as a staircase
 * over its points, and a dashed line per constraint on the cost axis, labelled above the frame
 * towards the side with room.
 */
export function scatterPlot(points: ScatterPoint[], front: ReadonlySet<number>, o: { xLabel: string; yLabel: string; guides: Guide[] }): string {
  const a = axes([...points.map((p) => p.x), ...o.guides.map((g) => g.value)], points.map((p) => p.y), o.xLabel, o.yLabel);
  if (!points.length) empty(a, 'no evaluated trial yet');
  for (const g of o.guides) {
    const x = a.sx(g.value);
    const right = x < (M.l + W - M.r) / 2;
    a.parts.push(`<line class="constraint" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${M.t}" y2="${H - M.b}" stroke="${PLOT_COLORS.guide}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<text x="${(right ? x - 4 : x + 4).toFixed(1)}" y="${M.t - 7}" text-anchor="${right ? 'start' : 'end'}" fill="${PLOT_COLORS.guide}">${escapeXml(g.label)}</text>`);
  }
  const title = (p: ScatterPoint) => `trial ${p.trial}: ${o.yLabel} ${fmt(p.y)}, ${o.xLabel} ${fmt(p.x)}`;
  for (const p of points) if (!front.has(p.trial)) a.parts.push(dot('point', a.sx(p.x), a.sy(p.y), 3, PLOT_COLORS.points, title(p), p.trial, 0.45));
  const onFront = points.filter((p) => front.has(p.trial)).sort((p, q) => p.x - q.x);
  if (onFront.length) {
    const d = onFront.map((p, i) => `${i ? `H${a.sx(p.x).toFixed(1)} V` : `M${a.sx(p.x).toFixed(1)},`}${a.sy(p.y).toFixed(1)}`).join(' ');
    a.parts.push(`<path class="pareto" d="${d}" fill="none" stroke="${PLOT_COLORS.front}" stroke-width="2"/>`);
  }
  for (const p of onFront) a.parts.push(dot('point front', a.sx(p.x), a.sy(p.y), 4, PLOT_COLORS.front, `${title(p)} (Pareto front)`, p.trial));
  return a.parts.join('') + '</svg>';
}
