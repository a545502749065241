import { mean, meanCI, median } from '../math/index.js';
import { barPlot, linePlot, type Block, type ReportDoc } from '../report/index.js';
import { formatConstraint, isDeviceSetMetric } from './cost/index.js';
import type { NasExperimentResult, RunResult } from './experiment.js';
import { bestSoFarWindow } from './search-report.js';

const DEVICE_FORMULA =
  'Device-set metrics normalize each device by its reference, the median latency of all cells of the table on that device: ' +
  '`n_d(a) = latency_d(a) / median_table(latency_d)`; `avg_latency(D) = mean over d in D of n_d(a)` (average case), ' +
  '`worst_latency(D) = max over d in D of n_d(a)` (worst case). 1 means "as fast as the median cell".';

/**
 * Mean and 95% interval of the best-so-far feasible objective after k evaluations, over the runs
 * that have one by then. A run that stopped early (--stop-at-target) keeps its final value.
 */
export function experimentCurve(runs: readonly RunResult[], budget: number) {
  const x: number[] = [], y: number[] = [], lower: number[] = [], upper: number[] = [];
  for (let k = 1; k <= budget; k++) {
    const values = runs.filter((r) => r.curve.length).map((r) => r.curve[Math.min(k, r.curve.length) - 1]).filter((v) => !Number.isNaN(v));
    if (values.length === 0) continue;
    const { mean: m, half } = meanCI(values);
    x.push(k);
    y.push(m);
    lower.push(Number.isNaN(half) ? m : m - half);
    upper.push(Number.isNaN(half) ? m : m + half);
  }
  return { x, y, lower, upper };
}

/** Mean / median evaluations to get within, over every run; runs that never got there are named, not dropped. */
function reachCell(r: ReturnType<typeof experimentSummary>[number], budget: number): string {
  if (!r.reached) return `not reached in ${budget}`;
  const median = Number.isFinite(r.reachMedian) ? r.reachMedian.toFixed(0) : 'not reached';
  return `${r.reachCensored ? '≥ ' : ''}${r.reachMean.toFixed(0)} / ${median}`;
}

const fmt = (values: number[], digits = 2) => {
  if (!values.length) return '-';
  const { mean: m, half } = meanCI(values);
  return Number.isNaN(half) ? m.toFixed(digits) : `${m.toFixed(digits)} ± ${half.toFixed(digits)}`;
};

/**
 * One row per controller: the numbers the issue asks for. Evaluations to get within count
 * every run: a run that never got there counts as the budget in the mean (a lower bound, so
 * `reachCensored` is set) and as "not reached" (Infinity) in the median.
 */
export function experimentSummary(result: NasExperimentResult) {
  const { config } = result;
  return config.controllers.map((name) => {
    const runs = result.runs.filter((r) => r.controller === name);
    const reach = runs.map((r) => r.reach).filter((k): k is number => k !== null);
    const finals = runs.map((r) => r.curve.at(-1)).filter((v): v is number => v !== undefined && !Number.isNaN(v));
    return {
      controller: name,
      runs: runs.length,
      finalBest: finals,
      reached: reach.length,
      reachMean: runs.length ? mean(runs.map((r) => r.reach ?? config.budget)) : NaN,
      reachMedian: runs.length ? median(runs.map((r) => r.reach ?? Infinity)) : NaN,
      reachCensored: reach.length < runs.length,
      pickFeasible: runs.filter((r) => r.pickFeasible).length,
      pickGaps: runs.map((r) => r.pickGap).filter((g): g is number => g !== null),
      evaluated: runs.map((r) => r.evaluated),
      proposals: runs.map((r) => r.proposals),
    };
  });
}

/** The report of `kiln experiment nas`: setup, summary table, best-so-far and pick-feasibility figures. */
export function nasExperimentReport(result: NasExperimentResult): { doc: ReportDoc; figures: Record<string, string> } {
  const { config, optimum, presets, constraints } = result;
  const limits = constraints.map(formatConstraint);
  const rows = experimentSummary(result);
  const series = config.controllers.map((name) => ({ name, ...experimentCurve(result.runs.filter((r) => r.controller === name), config.budget) }));
  // The first few evaluations span a wide range; the comparison happens near the optimum.
  const means = series.flatMap((s) => s.y.slice(Math.min(9, s.y.length - 1)));
  const curves = linePlot(
    series,
    {
      title: `Best-so-far feasible ${config.objective}${limits.length ? ` (${limits.join(', ')})` : ''}`,
      xLabel: 'architectures trained (evaluated)', yLabel: `best feasible ${config.objective}`, logX: true,
      yRange: bestSoFarWindow(means, optimum.value, config.direction),
      guides: [{ axis: 'y', value: optimum.value, label: `feasible optimum ${optimum.value}` }],
    },
  );
  const feasibility = barPlot(
    rows.map((r) => ({ label: r.controller, values: [r.runs ? r.pickFeasible / r.runs : 0] })),
    ['final pick feasible'],
    { title: 'Fraction of runs whose final pick is feasible', xLabel: 'controller', yLabel: 'fraction', yRange: [0, 1.05] },
  );
  const blocks: Block[] = [
    { kind: 'heading', text: 'Setup' },
    {
      kind: 'text',
      text: `Table \`${config.table}\` (${result.table.size} cells, space ${config.space}), objective \`${config.objective}\` (${config.direction}), ` +
        `${config.seeds} seeds per controller, budget ${config.budget} evaluated architectures per run${config.stopAtTarget ? ' (runs stop once within the target)' : ''}. ` +
        `Constraints: ${limits.length ? limits.map((l) => `\`${l}\``).join(', ') : 'none'}. ` +
        `Feasible optimum **${optimum.value}** (\`${optimum.arch}\`); "close" means within ${config.within}.`,
    },
    ...(constraints.some((c) => isDeviceSetMetric(c.metric)) ? [{ kind: 'text' as const, text: DEVICE_FORMULA }] : []),
    {
      kind: 'table', caption: 'Controllers as run',
      columns: ['controller', 'how it meets the constraints'],
      rows: config.controllers.map((n) => [n, presets[n].description]),
    },
    {
      kind: 'text',
      text: 'Hard-constrained studies never evaluate an infeasible proposal; reward-shaped REINFORCE evaluates every sample ' +
        '(the reward needs its cost) and every run is judged afterwards by the same constraints. The final pick is the controller\'s ' +
        'own recommendation where it has one (REINFORCE: the most likely architecture of the final policy; TabNAS: the most likely ' +
        'feasible one), otherwise its best feasible evaluated architecture.',
    },
    { kind: 'heading', text: 'Results' },
    {
      kind: 'table',
      caption: 'Mean ± 95% interval over seeds' + (config.stopAtTarget ? `; "at the end": when a run stopped at the target, else after ${config.budget} evaluations` : ''),
      columns: ['controller', 'runs', config.stopAtTarget ? 'best feasible at the end' : `best feasible after ${config.budget}`,
        `runs within ${config.within}`, `evaluations to get within (mean / median over all runs)`,
        'final pick feasible', 'pick distance to optimum (feasible picks)', 'proposals per run'],
      rows: rows.map((r) => [
        r.controller, r.runs, fmt(r.finalBest), `${r.reached}/${r.runs}`,
        reachCell(r, config.budget),
        `${r.pickFeasible}/${r.runs}`, fmt(r.pickGaps), fmt(r.proposals, 0),
      ]),
    },
    ...(rows.some((r) => r.reachCensored) ? [{ kind: 'text' as const, text: `Evaluations to get within: a run that never got within ${config.within} counts as ${config.budget} in the mean, shown as "≥ mean" (a lower bound), and as never in the median ("not reached" when most runs never got there).` }] : []),
    {
      kind: 'figure', file: 'best-so-far.svg',
      caption: 'Best-so-far feasible objective against architectures trained (line: mean over seeds with a feasible one; band: 95% interval)' +
        (config.stopAtTarget ? '; a run stopped at the target keeps its final value to the end, so every run counts at every point' : ''),
    },
    { kind: 'figure', file: 'pick-feasible.svg', caption: 'Fraction of runs whose final pick meets the constraints' },
    { kind: 'text', text: 'Every run: `runs.csv` (one line per run), `curves.csv` (best-so-far per evaluation). Studies live in `studies.db`; re-running the command resumes them.' },
  ];
  return {
    doc: { title: `NAS controllers on ${config.table}`, blocks },
    figures: { 'best-so-far.svg': curves, 'pick-feasible.svg': feasibility },
  };
}

const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One line per run. */
export function runsCsv(result: NasExperimentResult): string {
  const head = ['controller', 'seed', 'study', 'evaluated', 'proposals', 'rejections', 'final_best_feasible', 'evaluations_to_within', 'pick', 'pick_feasible', 'pick_value', 'pick_gap'];
  const lines = result.runs.map((r) => [r.controller, r.seed, r.study, r.evaluated, r.proposals, r.rejections, r.curve.at(-1) ?? '', r.reach, r.pick, r.pickFeasible, r.pickValue, r.pickGap].map(csvField).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** Best-so-far feasible objective after every evaluation of every run (empty before the first feasible one). */
export function curvesCsv(result: NasExperimentResult): string {
  const lines = result.runs.flatMap((r) => r.curve.map((v, k) => `${csvField(r.controller)},${r.seed},${k + 1},${Number.isNaN(v) ? '' : v}`));
  return ['controller,seed,evaluations,best_feasible', ...lines].join('\n') + '\n';
}
