/**
 * The NAS papers' claims, measured on the shipped NAS-Bench-201 CIFAR-10 table:
 *  1. evaluations until within 0.2 points of the table's best cell, per controller (unconstrained, runs stop at the target);
 *  2. under latency_ms_pixel3<=6 and under worst_latency(pixel3,raspi4,gold_6226)<=1: how often rejection-REINFORCE
 *     (tabnas), abs-reward and mnas-reward REINFORCE end with a feasible pick, and how far from the feasible optimum.
 * Writes a report per setting under --out (default bench-out/nas-papers). Run: node dist/bench/nas-papers.js [--seeds 30]
 */
import path from 'node:path';
import fs from 'node:fs';
import { dataPath } from '../src/core/index.js';
import { meanCI } from '../src/math/index.js';
import { curvesCsv, experimentSummary, memoryStorage, nasExperimentReport, runNasExperiment, runsCsv, type NasExperimentConfig } from '../src/nas/index.js';
import { writeFigure, writeReport } from '../src/report/index.js';
import { arg } from './args.js';

const SEEDS = Number(arg('--seeds', '30'));
const OUT = arg('--out', 'bench-out/nas-papers');
const ONLY = arg('--only', 'reach,pixel3,devices').split(',');
const base = { table: dataPath('nb201', 'nb201-cifar10.csv'), space: 'nb201', objective: 'cifar10_test_acc', direction: 'max' as const, seeds: SEEDS, within: 0.2 };

async function setting(name: string, cfg: NasExperimentConfig) {
  const t0 = Date.now();
  const result = await runNasExperiment(cfg, {
    storage: memoryStorage(),
    onRun: (r, n, total) => process.stderr.write(`\r${name}: ${n}/${total} runs (${r.controller})   `),
  });
  process.stderr.write(`\n${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  const dir = path.join(OUT, name);
  const { doc, figures } = nasExperimentReport(result);
  for (const [f, svg] of Object.entries(figures)) writeFigure(dir, f, svg);
  fs.writeFileSync(path.join(dir, 'runs.csv'), runsCsv(result));
  fs.writeFileSync(path.join(dir, 'curves.csv'), curvesCsv(result));
  writeReport(dir, doc);
  return { result, rows: experimentSummary(result) };
}

const ci = (xs: number[], d = 2) => {
  if (!xs.length) return '-';
  const { mean, half } = meanCI(xs);
  return `${mean.toFixed(d)} ± ${half.toFixed(d)}`;
};

if (ONLY.includes('reach')) {
  // Random search needs ~900 evaluations on average; the learning controllers are capped at
  // 1000 (a predictor refit on thousands of cells every 10 proposals is slow and pointless).
  const random = await setting('reach-random', { ...base, constraints: [], controllers: ['random'], budget: 5000, stopAtTarget: true });
  const learned = await setting('reach', {
    ...base, constraints: [], controllers: ['evolution', 'predictor', 'reinforce', 'tabnas'], budget: 1000, stopAtTarget: true,
  });
  const rows = [...random.rows, ...learned.rows];
  const result = learned.result;
  console.log(`\n## Evaluations until within 0.2 of the best cell (>= ${(result.optimum.value - 0.2).toFixed(2)}), ${SEEDS} seeds\n`);
  console.log('| controller | reached (budget) | mean | median |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.controller} | ${r.reached}/${r.runs} (${r.controller === 'random' ? 5000 : 1000}) | ${r.reachMean.toFixed(0)} | ${r.reachMedian.toFixed(0)} |`);
  const evo = rows.find((r) => r.controller === 'evolution')!;
  const pred = rows.find((r) => r.controller === 'predictor')!;
  console.log(`\nratio evolution / predictor: mean ${(evo.reachMean / pred.reachMean).toFixed(2)}, median ${(evo.reachMedian / pred.reachMedian).toFixed(2)}`);
}

for (const [name, constraint] of [['pixel3', 'latency_ms_pixel3<=6'], ['devices', 'worst_latency(pixel3,raspi4,gold_6226)<=1']]) {
  if (!ONLY.includes(name)) continue;
  const { rows, result } = await setting(name, {
    ...base, constraints: [constraint], budget: 300,
    controllers: ['random', 'evolution', 'tabnas', 'tabnas_nocorr', 'reinforce_abs', 'reinforce_mnas', 'reinforce_mnas_hard'],
  });
  console.log(`\n## ${constraint}: feasible optimum ${result.optimum.value}, ${SEEDS} seeds, 300 evaluations\n`);
  console.log('| controller | final pick feasible | pick distance to optimum | best feasible evaluated | evaluations within 0.2 (reached) |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.controller} | ${r.pickFeasible}/${r.runs} | ${ci(r.pickGaps)} | ${ci(r.finalBest)} | ${r.reached ? r.reachMean.toFixed(0) : '-'} (${r.reached}/${r.runs}) |`);
  }
}
