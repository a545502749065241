import { meanCI } from '../math/index.js';
import { linePlot, scatterPlot, type Block } from '../report/index.js';
import { bestSoFar, paretoFront } from './analysis.js';
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
}

/** Mean and 95% interval of the best-so-far curve at each evaluation count, over seeds. */
export function curveStats(runs: Trial[][], budget: number, direction: Direction) {
  const curves = runs.map((r) => bestSoFar(r, direction));
  const x: number[] = [];
  const y: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  for (let k = 1; k <= budget; k++) {
    const values = curves.filter((c) => c.length >= k).map((c) => c[k - 1]);
    if (!values.length) break;
    const { mean, half } = meanCI(values);
    x.push(k);
    y.push(mean);
    lower.push(Number.isNaN(half) ? mean : mean - half);
    upper.push(Number.isNaN(half) ? mean : mean + half);
  }
  return { x, y, lower, upper };
}

/** A y range from the lowest plotted mean to just above the optimum. */
function yWindow(means: number[], optimum: number): [number, number] {
  const lo = Math.min(optimum, ...means);
  const pad = Math.max(0.1, (optimum - lo) * 0.1);
  return [lo - pad, optimum + pad];
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

/**
 * Figures and tables comparing controllers on one constrained table search: best-so-far
 * feasible objective against evaluations (mean and 95% interval over seeds), and objective
 * against cost with the table's Pareto front, the constraint line and each controller's picks.
 */
export function searchComparison(cmp: SearchComparison): { blocks: Block[]; figures: Record<string, string> } {
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
      yRange: yWindow(stats.flatMap(({ s }) => s.y.slice(Math.min(9, s.y.length - 1))), optimum.value),
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
      yRange: [Math.max(Math.min(...background.map((i) => obj[i])), optimum.value - 25), Math.max(...obj) + 0.5],
      guides: [{ axis: 'x', value: limit, label: `constraint ${costMetric} <= ${limit}` }],
    },
  );

  const checkpoints = [10, 50, 100, 200, 300, 500].filter((k) => k <= budget);
  if (!checkpoints.includes(budget)) checkpoints.push(budget);
  const rows = stats.map(({ c, s }) => [
    c.controller,
    c.runs.length,
    ...checkpoints.map((k) => {
      const values = c.runs.map((r) => bestSoFar(r, direction)).filter((cv) => cv.length >= k).map((cv) => cv[k - 1]);
      const { mean, half } = meanCI(values);
      return values.length ? `${mean.toFixed(2)} ± ${half.toFixed(2)}` : '-';
    }),
    `${c.runs.filter((r) => bestSoFar(r, direction).at(-1) === optimum.value).length}/${c.runs.length}`,
    s.y.length ? s.y.at(-1)!.toFixed(2) : '-',
  ]);
  // One sentence on who is ahead at the budget, and whether the 95% intervals separate them.
  const finals = stats.filter(({ s }) => s.y.length).map(({ c, s }) => ({ name: c.controller, mean: s.y.at(-1)!, lo: s.lower.at(-1)!, hi: s.upper.at(-1)! }))
    .sort((a, b) => (direction === 'max' ? b.mean - a.mean : a.mean - b.mean));
  const finding = finals.length >= 2
    ? `After ${budget} evaluations **${finals[0].name}** leads with ${finals[0].mean.toFixed(2)} against ${finals[1].name}'s ${finals[1].mean.toFixed(2)}; ` +
      (finals[0].lo > finals[1].hi || finals[0].hi < finals[1].lo ? 'the 95% intervals do not overlap.' : 'the 95% intervals overlap, so the seeds do not separate them.') +
      ` The feasible optimum is ${optimum.value.toFixed(2)}.`
    : '';
  const blocks: Block[] = [
    { kind: 'text', text: `Feasible optimum of the table under \`${costMetric} <= ${limit}\`: **${optimum.value.toFixed(2)}** (${table.archs.length} cells, row ${optimum.row}).` },
    {
      kind: 'table',
      caption: `Best-so-far feasible ${objective} after k evaluated architectures: mean ± 95% interval over seeds`,
      columns: ['controller', 'seeds', ...checkpoints.map((k) => `k=${k}`), 'runs reaching optimum', `mean at ${budget}`],
      rows,
    },
    ...(finding ? [{ kind: 'text' as const, text: finding }] : []),
    { kind: 'figure', file: 'best-so-far.svg', caption: 'Best-so-far feasible objective (line: mean over seeds; band: 95% interval)' },
    { kind: 'figure', file: 'tradeoff.svg', caption: `${objective} against ${costMetric}: table cells, the table's Pareto front, the constraint line, and each run's final pick` },
  ];
  return { blocks, figures: { 'best-so-far.svg': curves, 'tradeoff.svg': tradeoff } };
}
