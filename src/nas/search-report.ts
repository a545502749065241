import { meanCI } from '../math/index.js';
import { linePlot, scatterPlot, type Block } from '../report/index.js';
import { bestSoFar, paretoFront, trialsToReach } from './analysis.js';
import type { BenchmarkTable } from './table.js';
import type { Direction, Trial } from './storage/index.js';

/** The runs of one controller over several seeds of the same constrained table search. */
export interface ControllerRuns {
  controller: string;
  /** One trial list per seed. */
  runs: Trial[][];
}

export interface SearchComparison {
  objective: string;
  direction: Direction;
  /** The constrained cost plotted on the x axis of the trade-off plot, e.g. latency_ms_pixel3. */
  costMetric: string;
  limit: number;
  table: BenchmarkTable;
  budget: number;
  controllers: ControllerRuns[];
  /** "Close" means within this distance of the feasible optimum (default 0.2). */
  within?: number;
}

/**
 * Mean and 95% interval of the best-so-far curve at each evaluation count, over seeds. A run
 * that ended early (stopped at a target, or a finite controller) keeps its last value, so every
 * run counts at every k.
 */
export function curveStats(runs: Trial[][], budget: number, direction: Direction) {
  const curves = runs.map((r) => bestSoFar(r, direction)).filter((c) => c.length);
  const x: number[] = [];
  const y: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  const longest = Math.min(budget, Math.max(0, ...curves.map((c) => c.length)));
  for (let k = 1; k <= longest; k++) {
    const { mean, half } = meanCI(curves.map((c) => c[Math.min(k, c.length) - 1]));
    x.push(k);
    y.push(mean);
    lower.push(Number.isNaN(half) ? mean : mean - half);
    upper.push(Number.isNaN(half) ? mean : mean + half);
  }
  return { x, y, lower, upper };
}

/**
 * The y range of a best-so-far plot: from the worst plotted mean to just past the optimum, on
 * the side the search moves towards (up when maximizing, down when minimizing).
 */
export function bestSoFarWindow(means: number[], optimum: number, direction: Direction): [number, number] {
  const finite = means.filter(Number.isFinite);
  const far = direction === 'max' ? Math.min(optimum, ...finite) : Math.max(optimum, ...finite);
  const pad = 0.1 * (Math.abs(optimum - far) || Math.max(Math.abs(optimum) * 0.01, 1e-6));
  return direction === 'max' ? [far - pad, optimum + pad] : [optimum - pad, far + pad];
}

/**
 * The median with a distribution-free 95% interval: order statistics j and n + 1 - j of the
 * sorted values, j the largest with P(Binomial(n, 1/2) < j) <= 0.025 (the whole range below 6
 * values). Infinite values (e.g. "never reached") sort last, so they can be the median.
 */
export function medianInterval(values: readonly number[]): { median: number; lo: number; hi: number } {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return { median: NaN, lo: NaN, hi: NaN };
  let j = 1;
  let below = 0;
  let pmf = 0.5 ** n;
  for (let i = 0; i < n; i++) {
    below += pmf;
    if (below > 0.025) break;
    j = Math.max(j, i + 1);
    pmf *= (n - i) / (i + 1);
  }
  const mid = n >> 1;
  // (Infinity + Infinity) / 2 stays Infinity; a finite and an infinite middle pair is "not reached" too.
  return { median: n % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, lo: s[j - 1], hi: s[n - j] };
}

/** The best objective among table rows whose cost meets the limit (the feasible optimum). */
export function feasibleOptimum(table: BenchmarkTable, objective: string, cost: string, limit: number, direction: Direction) {
  const obj = table.column(objective);
  const c = table.column(cost);
  let best = NaN;
  let row = -1;
  for (let i = 0; i < table.size; i++) {
    if (!(c[i] <= limit)) continue;
    if (row < 0 || (direction === 'max' ? obj[i] > best : obj[i] < best)) {
      best = obj[i];
      row = i;
    }
  }
  return { value: best, row };
}

/** Objective range of the trade-off plot: the better part of the table, a quarter of its span either side of the optimum. */
function tradeoffWindow(shown: number[], all: ArrayLike<number>, optimum: number, direction: Direction): [number, number] {
  const lo = Math.min(...Array.from(all));
  const hi = Math.max(...Array.from(all));
  const span = hi - lo || 1;
  return direction === 'max'
    ? [Math.max(Math.min(...shown), optimum - span / 4), hi + span / 100]
    : [lo - span / 100, Math.min(Math.max(...shown), optimum + span / 4)];
}

/**
 * Figures and tables comparing controllers on one constrained table search: best-so-far
 * feasible objective against evaluations (mean and 95% interval over seeds), and objective
 * against cost with the table's Pareto front, the constraint line and each controller's picks.
 * The blocks open with `lead`: the strongest controller and how the others compare.
 */
export function searchComparison(cmp: SearchComparison): { blocks: Block[]; figures: Record<string, string>; lead: string } {
  const { table, objective, costMetric, limit, direction, budget } = cmp;
  const optimum = feasibleOptimum(table, objective, costMetric, limit, direction);
  const stats = cmp.controllers.map((c) => ({ c, s: curveStats(c.runs, budget, direction) }));

  const curves = linePlot(
    stats.map(({ c, s }) => ({ name: `${c.controller} (n=${c.runs.length})`, ...s })),
    {
      title: `Best-so-far feasible ${objective} (${costMetric} <= ${limit})`,
      xLabel: 'architectures evaluated',
      yLabel: `best feasible ${objective}`,
      logX: true,
      // The first few evaluations span tens of points; the comparison happens near the optimum.
      yRange: bestSoFarWindow(stats.flatMap(({ s }) => s.y.slice(Math.min(9, s.y.length - 1))), optimum.value, direction),
      guides: [{ axis: 'y', value: optimum.value, label: `feasible optimum ${optimum.value.toFixed(2)}` }],
    },
  );

  const obj = table.column(objective);
  const cost = table.column(costMetric);
  const all = Array.from({ length: table.size }, (_, i) => i);
  const front = paretoFront(all.map((i) => [obj[i], cost[i]]), [direction, 'min']).sort((a, b) => cost[a] - cost[b]);
  const background = all.filter((i) => i % 4 === 0);
  const picks = cmp.controllers.map((c) => {
    const best = c.runs.map((r) => r.filter((t) => t.feasible && t.value !== null)
      .reduce<Trial | undefined>((b, t) => (!b || (direction === 'max' ? t.value! > b.value! : t.value! < b.value!) ? t : b), undefined))
      .filter((t): t is Trial => t !== undefined);
    return { name: `${c.controller}: final picks`, x: best.map((t) => Number(t.metrics[costMetric])), y: best.map((t) => t.value!), radius: 5 };
  });
  const tradeoff = scatterPlot(
    [
      { name: 'table (every 4th cell)', x: background.map((i) => cost[i]), y: background.map((i) => obj[i]), radius: 1.5 },
      { name: 'table Pareto front', x: front.map((i) => cost[i]), y: front.map((i) => obj[i]), line: true, radius: 2.5 },
      ...picks,
    ],
    {
      title: `${objective} against ${costMetric}`,
      xLabel: costMetric,
      yLabel: objective,
      logX: true,
      yRange: tradeoffWindow(background.map((i) => obj[i]), obj, optimum.value, direction),
      guides: [{ axis: 'x', value: limit, label: `constraint ${costMetric} <= ${limit}` }],
    },
  );

  const checkpoints = [10, 50, 100, 200, 300, 500].filter((k) => k <= budget);
  if (!checkpoints.includes(budget)) checkpoints.push(budget);
  const rows = stats.map(({ c, s }) => [
    c.controller,
    c.runs.length,
    ...checkpoints.map((k) => {
      const i = s.x.indexOf(k);
      return i < 0 ? '-' : s.lower[i] === s.y[i] ? s.y[i].toFixed(2) : `${s.y[i].toFixed(2)} ± ${(s.upper[i] - s.y[i]).toFixed(2)}`;
    }),
    `${c.runs.filter((r) => bestSoFar(r, direction).at(-1) === optimum.value).length}/${c.runs.length}`,
  ]);
  const ranked = rankControllers(cmp, optimum.value);
  const lead = leadSentence(ranked, cmp, optimum.value);
  const within = cmp.within ?? 0.2;
  const show = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  const evals = (v: number) => (Number.isFinite(v) ? String(Math.round(v)) : `>${budget}`);
  const blocks: Block[] = [
    ...(lead ? [{ kind: 'text' as const, text: lead }] : []),
    {
      kind: 'table',
      caption: `Controllers, strongest first: medians over seeds with distribution-free 95% intervals; evaluations to get within ${within} of the feasible optimum ${optimum.value.toFixed(2)} count every run (>${budget}: not within the budget)`,
      columns: ['controller', 'seeds', `best feasible after ${budget}`, `evaluations to get within ${within}`, `runs within ${within}`],
      rows: ranked.map((r) => [
        r.controller, r.runs,
        `${show(r.final.median)} [${show(r.final.lo)}, ${show(r.final.hi)}]`,
        `${evals(r.reach.median)} [${evals(r.reach.lo)}, ${evals(r.reach.hi)}]`,
        `${r.reached}/${r.runs}`,
      ]),
    },
    { kind: 'text', text: `Feasible optimum of the table under \`${costMetric} <= ${limit}\`: **${optimum.value.toFixed(2)}** (${table.archs.length} cells, row ${optimum.row}).` },
    {
      kind: 'table',
      caption: `Best-so-far feasible ${objective} after k evaluated architectures: mean ± 95% interval over seeds`,
      columns: ['controller', 'seeds', ...checkpoints.map((k) => `k=${k}`), 'runs reaching optimum'],
      rows,
    },
    { kind: 'figure', file: 'best-so-far.svg', caption: 'Best-so-far feasible objective (line: mean over seeds; band: 95% interval)' },
    { kind: 'figure', file: 'tradeoff.svg', caption: `${objective} against ${costMetric}: table cells, the table's Pareto front, the constraint line, and each run's final pick` },
  ];
  return { blocks, figures: { 'best-so-far.svg': curves, 'tradeoff.svg': tradeoff }, lead };
}

/** One controller's standing: final best-so-far and evaluations to get close (Infinity: never), as medians with intervals. */
export interface ControllerStanding {
  controller: string;
  runs: number;
  final: { median: number; lo: number; hi: number };
  reach: { median: number; lo: number; hi: number };
  /** Runs that got within the distance. */
  reached: number;
}

/**
 * Controllers strongest first: by median final best-so-far, then by median evaluations to get
 * within `cmp.within` (default 0.2) of the feasible optimum.
 */
export function rankControllers(cmp: SearchComparison, optimum: number): ControllerStanding[] {
  const sign = cmp.direction === 'max' ? 1 : -1;
  const target = optimum - sign * (cmp.within ?? 0.2);
  const standings = cmp.controllers.map((c) => {
    const reach = c.runs.map((r) => trialsToReach(r, target, cmp.direction) ?? Infinity);
    const finals = c.runs.map((r) => bestSoFar(r, cmp.direction).at(-1) ?? -sign * Infinity);
    return { controller: c.controller, runs: c.runs.length, final: medianInterval(finals), reach: medianInterval(reach), reached: reach.filter(Number.isFinite).length };
  });
  return standings.sort((a, b) => sign * (b.final.median - a.final.median) || a.reach.median - b.reach.median || b.reached - a.reached);
}

const nameOf = (c: string) => (c === 'random' ? 'random search' : c);

/** The report's opening: who is strongest and by how much, against random search (or the runner-up when random leads). */
function leadSentence(ranked: ControllerStanding[], cmp: SearchComparison, optimum: number): string {
  if (ranked.length < 2) return '';
  const [top] = ranked;
  const other = top.controller !== 'random' ? ranked.find((r) => r.controller === 'random') ?? ranked[1] : ranked[1];
  const within = cmp.within ?? 0.2;
  const runs = (r: ControllerStanding) => `${r.reached}/${r.runs} runs get there`;
  const reach = (r: ControllerStanding) => `a median of ${Math.round(r.reach.median)} evaluations (95% interval ${Math.round(r.reach.lo)}-` +
    `${Number.isFinite(r.reach.hi) ? Math.round(r.reach.hi) : `>${cmp.budget}`}; ${runs(r)})`;
  const goal = `within ${within} of the best feasible ${cmp.objective} (${optimum.toFixed(2)})`;
  const opening = Number.isFinite(top.reach.median)
    ? `**${nameOf(top.controller)}** is the strongest method here: it gets ${goal} in ${reach(top)}; `
    : `**${nameOf(top.controller)}** is the strongest method here (best median after ${cmp.budget} evaluations), though only ${top.reached}/${top.runs} of its runs get ${goal} within the budget; `;
  const versus = Number.isFinite(other.reach.median)
    ? `${nameOf(other.controller)} needs ${reach(other)}.`
    : `with ${nameOf(other.controller)} ${runs(other)} in ${cmp.budget} evaluations.`;
  const fin = (r: ControllerStanding) => `${r.final.median.toFixed(2)} [${r.final.lo.toFixed(2)}, ${r.final.hi.toFixed(2)}]`;
  const apart = top.final.lo > other.final.hi || top.final.hi < other.final.lo || top.reach.hi < other.reach.lo;
  return opening + versus + ` After ${cmp.budget} evaluations the median best is ${fin(top)} for ${top.controller} ` +
    `against ${fin(other)} for ${other.controller}` +
    (apart ? '; the 95% intervals do not overlap.' : '; the 95% intervals overlap, so these seeds do not separate the two.');
}
