/**
 * Dependency-free SVG plots: line plots with confidence bands and scatter plots with overlays.
 * Output is a standalone SVG string that a report links or a user opens directly.
 */

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
  /** Optional band (e.g. a 95% interval) drawn behind the line. */
  lower?: number[];
  upper?: number[];
}

export interface ScatterSeries {
  name: string;
  x: number[];
  y: number[];
  radius?: number;
  /** Draw the points joined as a step line (e.g. a Pareto front). */
  line?: boolean;
}

export interface Guide {
  axis: 'x' | 'y';
  value: number;
  label: string;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  xRange?: [number, number];
  yRange?: [number, number];
  logX?: boolean;
  guides?: Guide[];
  /** Replaces the numeric x ticks with labelled ones (categories). */
  xTicks?: { value: number; label: string }[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const DASHES = ['6 3', '2 2', '8 3 2 3'];

export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** Dots past the palette are drawn as rings of the repeated colour. */
const dotPaint = (i: number, opacity: number) =>
  (i < PALETTE.length ? `fill="${colorOf(i)}" fill-opacity="${opacity}"` : `fill="none" stroke="${colorOf(i)}" stroke-width="1.5"`);

/** Series past the palette repeat a colour with a dash pattern, so every series stays distinguishable. */
const dashOf = (i: number) => (i < PALETTE.length ? '' : ` stroke-dasharray="${DASHES[(Math.floor(i / PALETTE.length) - 1) % DASHES.length]}"`);

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** 1-2-5 ticks per decade for a log axis, as exponents of 10 within [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const mults = hi - lo > 3 ? [1] : [1, 2, 5];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of mults) {
      const t = e + Math.log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(t);
    }
  }
  return out;
}

/** Plain tick text: 0.005, 92.5, 1000, 25k, 1.5M (never exponent notation for everyday magnitudes). */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 1) return String(+v.toFixed(2));
  return String(+v.toPrecision(2));
}

function extent(values: number[], pad = 0.04): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

interface Frame {
  sx: (v: number) => number;
  sy: (v: number) => number;
  parts: string[];
  close: () => string;
}

interface LegendEntry {
  name: string;
  kind: 'line' | 'dot';
}

// About 6.5 px per character at 12 px sans-serif.
const textWidth = (s: string) => 6.5 * s.length;
const LEGEND_ROW = 18;
const LINE_HEIGHT = 14;
const MAX_TICK_LABEL = 24;

/** Category labels longer than MAX_TICK_LABEL characters are cut with an ellipsis (the full text stays in a tooltip). */
const shortLabel = (s: string) => (s.length > MAX_TICK_LABEL ? `${s.slice(0, MAX_TICK_LABEL - 1)}…` : s);

/**
 * The angle of category labels on the x axis: level when the widest fits its slot, 45 degrees
 * when slots are at least a line height / sin 45 apart (rotated neighbours then clear each
 * other), vertical otherwise.
 */
function xLabelAngle(labels: string[], spacing: number): 0 | 45 | 90 {
  const widest = Math.max(0, ...labels.map((l) => textWidth(shortLabel(l))));
  if (widest + 8 <= spacing) return 0;
  return spacing >= LINE_HEIGHT / Math.SQRT1_2 ? 45 : 90;
}

/** Legend entries flowed left to right in rows under the plot, so they never cover the data. */
function legendLayout(entries: LegendEntry[], left: number, right: number): { x: number; row: number }[] {
  const out: { x: number; row: number }[] = [];
  let x = left;
  let row = 0;
  for (const e of entries) {
    const w = 26 + textWidth(e.name) + 18;
    if (x > left && x + w > right) {
      x = left;
      row++;
    }
    out.push({ x, row });
    x += w;
  }
  return out;
}

function frame(opts: PlotOptions, xs: number[], ys: number[], legend: LegendEntry[]): Frame {
  const W = opts.width ?? 640;
  const m = { l: 64, r: 16, t: 36, b: 48 };
  const slots = legendLayout(legend, m.l, W - m.r);
  const legendHeight = legend.length ? (Math.max(...slots.map((s) => s.row)) + 1) * LEGEND_ROW + 6 : 0;
  // Labelled ticks are evenly spaced categories; rotated ones need a taller band under the axis.
  const labels = (opts.xTicks ?? []).map((t) => t.label);
  const widest = Math.max(0, ...labels.map((l) => textWidth(shortLabel(l))));
  let angle = labels.length > 1 ? xLabelAngle(labels, (W - m.l - m.r) / labels.length) : 0;
  if (angle === 45) {
    // The first label leans left: widen the left margin so it stays in the picture.
    m.l = Math.max(m.l, widest * Math.SQRT1_2 - (W - m.l - m.r) / labels.length / 2 + 4);
    angle = xLabelAngle(labels, (W - m.l - m.r) / labels.length);
  }
  const tickBand = angle ? widest * Math.sin((angle * Math.PI) / 180) : 0;
  // The plot keeps `height`; the rotated labels and the legend band are added below the x-axis label.
  const H = (opts.height ?? 400) + legendHeight + tickBand;
  m.b += legendHeight + tickBand;
  const tx = (v: number) => (opts.logX ? Math.log10(Math.max(v, 1e-12)) : v);
  const guideX = (opts.guides ?? []).filter((g) => g.axis === 'x').map((g) => g.value);
  const guideY = (opts.guides ?? []).filter((g) => g.axis === 'y').map((g) => g.value);
  const [x0, x1] = opts.xRange ?? extent([...xs, ...guideX].map(tx), 0.02);
  const [y0, y1] = opts.yRange ?? extent([...ys, ...guideY]);
  const sx = (v: number) => m.l + ((tx(v) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title)}</text>`,
    `<defs><clipPath id="plot"><rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}"/></clipPath></defs>`,
  ];
  for (const t of ticks(y0, y1)) {
    const y = sy(t);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  const xTicks = opts.xTicks ?? (opts.logX ? logTicks(x0, x1) : ticks(x0, x1)).map((t) => ({ value: opts.logX ? 10 ** t : t, label: '' }));
  for (const t of xTicks) {
    const x = m.l + ((tx(t.value) - x0) / (x1 - x0)) * (W - m.l - m.r);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`);
    if (!t.label) parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${tickLabel(t.value)}</text>`);
    else {
      const y = H - m.b + (angle ? 10 : 16);
      const tip = t.label.length > MAX_TICK_LABEL ? `<title>${esc(t.label)}</title>` : '';
      parts.push(angle
        ? `<text class="xtick" x="${x}" y="${y}" text-anchor="end" transform="rotate(-${angle} ${x} ${y})">${tip}${esc(shortLabel(t.label))}</text>`
        : `<text class="xtick" x="${x}" y="${y}" text-anchor="middle">${tip}${esc(shortLabel(t.label))}</text>`);
    }
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - legendHeight - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  const guides = () => {
    for (const g of opts.guides ?? []) {
      if (g.axis === 'x') {
        const x = sx(g.value);
        parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${H - m.b}" stroke="#555" stroke-dasharray="6 4"/>`);
        parts.push(`<text x="${x + 4}" y="${m.t + 14}" fill="#555">${esc(g.label)}</text>`);
      } else {
        const y = sy(g.value);
        parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#555" stroke-dasharray="6 4"/>`);
        parts.push(`<text x="${m.l + 4}" y="${y - 4}" fill="#555">${esc(g.label)}</text>`);
      }
    }
  };
  return {
    sx,
    sy,
    parts,
    close() {
      guides();
      legend.forEach((e, i) => {
        const x = slots[i].x;
        const y = H - legendHeight + 4 + slots[i].row * LEGEND_ROW + 12;
        parts.push(
          e.kind === 'dot'
            ? `<circle cx="${x + 10}" cy="${y - 4}" r="4" ${dotPaint(i, 1)}/>`
            : `<line x1="${x}" x2="${x + 20}" y1="${y - 4}" y2="${y - 4}" stroke="${colorOf(i)}" stroke-width="2"${dashOf(i)}/>`,
        );
        parts.push(`<text x="${x + 26}" y="${y}">${esc(e.name)}</text>`);
      });
      parts.push('</svg>');
      return parts.join('\n');
    },
  };
}

const pathOf = (xs: number[], ys: number[], sx: (v: number) => number, sy: (v: number) => number) =>
  xs.map((x, i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(' ');

/** Lines (one per series) with optional shaded bands. */
export function linePlot(series: LineSeries[], opts: PlotOptions): string {
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => [...s.y, ...(s.lower ?? []), ...(s.upper ?? [])]);
  const f = frame(opts, xs, ys, series.map((s) => ({ name: s.name, kind: 'line' })));
  // Many overlapping bands would hide the lines: fainter the more bands there are.
  const bandOpacity = +Math.min(0.15, 0.45 / series.filter((s) => s.lower && s.upper).length).toFixed(3);
  series.forEach((s, i) => {
    if (s.lower && s.upper) {
      const top = pathOf(s.x, s.upper, f.sx, f.sy);
      const bottom = s.x
        .map((x, j) => `L${f.sx(x).toFixed(1)},${f.sy(s.lower![j]).toFixed(1)}`)
        .reverse()
        .join(' ');
      f.parts.push(`<path d="${top} ${bottom} Z" fill="${colorOf(i)}" fill-opacity="${bandOpacity}" stroke="none" clip-path="url(#plot)"/>`);
    }
    f.parts.push(
      `<path d="${pathOf(s.x, s.y, f.sx, f.sy)}" fill="none" stroke="${colorOf(i)}" stroke-width="2"${dashOf(i)} clip-path="url(#plot)"/>`,
    );
  });
  return f.close();
}

/** Points (one colour per series); a series with `line` is drawn as a step line over its points. */
export function scatterPlot(series: ScatterSeries[], opts: PlotOptions): string {
  // With a fixed y range, only the points inside it decide the x range.
  const visible = (y: number) => !opts.yRange || (y >= opts.yRange[0] && y <= opts.yRange[1]);
  const xs = series.flatMap((s) => s.x.filter((_, j) => visible(s.y[j])));
  const f = frame(opts, xs, series.flatMap((s) => s.y), series.map((s) => ({ name: s.name, kind: s.line ? 'line' : 'dot' })));
  series.forEach((s, i) => {
    if (s.line) {
      const order = s.x.map((_, j) => j).sort((a, b) => s.x[a] - s.x[b]);
      const pts = order.map((j) => [f.sx(s.x[j]), f.sy(s.y[j])]);
      const d = pts.map(([x, y], j) => (j ? `H${x.toFixed(1)} V${y.toFixed(1)}` : `M${x.toFixed(1)},${y.toFixed(1)}`)).join(' ');
      f.parts.push(`<path d="${d}" fill="none" stroke="${colorOf(i)}" stroke-width="2" clip-path="url(#plot)"/>`);
    }
    const r = s.radius ?? 2;
    for (let j = 0; j < s.x.length; j++) {
      f.parts.push(
        `<circle cx="${f.sx(s.x[j]).toFixed(1)}" cy="${f.sy(s.y[j]).toFixed(1)}" r="${r}" ${dotPaint(i, s.line ? 1 : 0.5)} clip-path="url(#plot)"/>`,
      );
    }
  });
  return f.close();
}

/** Vertical bars over categories, e.g. histograms. */
export function barPlot(
  bars: { label: string; values: number[] }[],
  seriesNames: string[],
  opts: Omit<PlotOptions, 'xRange' | 'logX'>,
): string {
  const n = bars.length;
  const allValues = bars.flatMap((b) => b.values);
  const xTicks = bars.map((b, i) => ({ value: i + 0.5, label: b.label }));
  const legend = seriesNames.map((name) => ({ name, kind: 'line' as const }));
  const f = frame({ ...opts, xTicks, xRange: [0, n], yRange: opts.yRange ?? [0, Math.max(1e-12, ...allValues) * 1.08] }, [], allValues, legend);
  const slot = f.sx(1) - f.sx(0);
  const k = seriesNames.length;
  bars.forEach((b, i) => {
    b.values.forEach((v, j) => {
      const x = f.sx(i) + slot * 0.1 + (slot * 0.8 * j) / k;
      const y = f.sy(v);
      f.parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${((slot * 0.8) / k).toFixed(1)}" height="${(f.sy(0) - y).toFixed(1)}" fill="${colorOf(j)}"/>`,
      );
    });
  });
  return f.close();
}
