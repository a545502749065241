/**
 * Local search against the other controllers on the NAS-Bench-201 CIFAR-10 table: evaluations until
 * a cell within 0.2 points of the best (the best feasible one under a constraint) is evaluated,
 * median and interquartile range over seeds; a run that never reaches it counts as its budget.
 * Run: node dist/bench/nas-local.js [--seeds 30] [--budget 300] [--controllers a,b] [--json]
 *      [--table data/nb201/nb201-cifar100.csv --objective cifar100_test_acc]
 * A table without the latency column is searched unconstrained only.
 */
import { dataPath } from '../src/core/index.js';
import { median } from '../src/math/index.js';
import { getSpace, loadTable, memoryStorage, runStudy, trialsToReach, type StudyConfig, type Trial } from '../src/nas/index.js';
import { arg } from './args.js';

const SEEDS = Number(arg('--seeds', '30'));
const BUDGET = Number(arg('--budget', '300'));
const CONTROLLERS = arg('--controllers', 'random,evolution,predictor,local-search,guided-local-search').split(',');
const JSON_OUT = process.argv.includes('--json');
const TABLE = arg('--table', dataPath('nb201', 'nb201-cifar10.csv'));
const OBJECTIVE = arg('--objective', 'cifar10_test_acc');
const LIMIT = { metric: 'latency_ms_pixel3', max: 6 };
const ALL_SETTINGS = [
  { label: 'unconstrained', constraints: [] as string[] },
  { label: `${LIMIT.metric}<=${LIMIT.max}`, constraints: [`${LIMIT.metric}<=${LIMIT.max}`] },
];

/** Evaluations until `target`, or null when the budget ran out first. */
async function evaluationsToReach(controller: string, constraints: string[], seed: number, target: number): Promise<number | null> {
  const study: StudyConfig = { name: 'bench', space: 'nb201', objective: OBJECTIVE, constraints, controller, table: TABLE, seed };
  const stop = new AbortController();
  const onTrial = (t: Trial) => { if (t.value !== null && t.value >= target) stop.abort(); };
  const run = await runStudy({ study, budget: BUDGET, storage: memoryStorage(), onTrial, signal: stop.signal });
  return trialsToReach(run.trials, target);
}

/** The q-quantile by linear interpolation between order statistics. */
const quantile = (sorted: readonly number[], q: number) => {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (pos - lo);
};

async function main(): Promise<void> {
  const table = loadTable(TABLE, getSpace('nb201'));
  const acc = table.column(OBJECTIVE);
  const SETTINGS = table.hasColumn(LIMIT.metric) ? ALL_SETTINGS : ALL_SETTINGS.slice(0, 1);
  const cost = SETTINGS.length > 1 ? table.column(LIMIT.metric) : acc;
  const best = (feasible: (i: number) => boolean) => Math.max(...Array.from(acc).filter((_, i) => feasible(i)));
  const tops = [best(() => true), best((i) => cost[i] <= LIMIT.max)];
  const rows: { controller: string; setting: string; target: number; median: number; q1: number; q3: number; missed: number; seconds: number }[] = [];
  for (const [k, setting] of SETTINGS.entries()) {
    const target = +(tops[k] - 0.2).toFixed(4);
    for (const controller of CONTROLLERS) {
      const started = performance.now();
      const counts: number[] = [];
      let missed = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const n = await evaluationsToReach(controller, setting.constraints, seed, target);
        if (n === null) missed++;
        counts.push(n ?? BUDGET);
      }
      const sorted = [...counts].sort((a, b) => a - b);
      rows.push({
        controller, setting: setting.label, target, median: median(counts), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), missed,
        seconds: (performance.now() - started) / 1000,
      });
    }
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({ seeds: SEEDS, budget: BUDGET, table: TABLE, rows }, null, 2));
    return;
  }
  console.log(`Evaluations until within 0.2 of the best (${SEEDS} seeds, budget ${BUDGET}; a miss counts as the budget)\n`);
  console.log('| controller | setting | target | median | IQR | missed | seconds |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.controller} | ${r.setting} | >= ${r.target} | ${r.median} | ${r.q1}-${r.q3} | ${r.missed}/${SEEDS} | ${r.seconds.toFixed(1)} |`);
  }
}

await main();
