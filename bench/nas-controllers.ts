/**
 * Random search vs regularized evolution on the NAS-Bench-201 CIFAR-10 table.
 *  1. best-so-far feasible accuracy after 100 and 200 evaluations, unconstrained and under
 *     latency_ms_pixel3<=6 (mean and 95% CI over seeds);
 *  2. evaluations until an architecture within 0.2 points of the table's best (>= 94.17),
 *     to compare with simple reference implementations run on this machine (random mean 877,
 *     evolution P20/S5 mean 78, 50 seeds).
 * Run: node dist/bench/nas-controllers.js [--seeds 30] [--reach-seeds 50]
 */
import { dataPath } from '../src/core/index.js';
import { meanCiText } from './format.js';
import { mean, meanCI, median } from '../src/math/index.js';
import { bestSoFar, getSpace, loadTable, memoryStorage, runStudy, trialsToReach, type StudyConfig, type Trial } from '../src/nas/index.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SEEDS = arg('--seeds', 30);
const REACH_SEEDS = arg('--reach-seeds', 50);
const TABLE = dataPath('nb201', 'nb201-cifar10.csv');
const OBJECTIVE = 'cifar10_test_acc';
const CONTROLLERS = ['random', 'evolution'];
const SETTINGS: { label: string; constraints: string[] }[] = [
  { label: 'unconstrained', constraints: [] },
  { label: 'latency_ms_pixel3<=6', constraints: ['latency_ms_pixel3<=6'] },
];

/** One seeded search; with `stopAt`, it ends at the first evaluation reaching that accuracy. */
async function curve(controller: string, constraints: string[], seed: number, budget: number, stopAt = Infinity) {
  const study: StudyConfig = { name: 'bench', space: 'nb201', objective: OBJECTIVE, constraints, controller, table: TABLE, seed };
  const stop = new AbortController();
  const onTrial = (t: Trial) => { if (t.value !== null && t.value >= stopAt) stop.abort(); };
  const run = await runStudy({ study, budget, storage: memoryStorage(), onTrial, signal: stop.signal });
  return { best: bestSoFar(run.trials), trials: run.trials, proposals: run.trials.length };
}

async function main(): Promise<void> {
  const table = loadTable(TABLE, getSpace('nb201'));
  const acc = table.column(OBJECTIVE);
  const lat = table.column('latency_ms_pixel3');
  const top = Math.max(...acc);
  let topFeasible = -Infinity;
  acc.forEach((a, i) => { if (lat[i] <= 6) topFeasible = Math.max(topFeasible, a); });
  console.log(`table: ${table.size} cells, best ${top}, best with latency_ms_pixel3<=6: ${topFeasible}\n`);

  console.log(`## Best-so-far feasible ${OBJECTIVE} (mean ± 95% CI over ${SEEDS} seeds)\n`);
  console.log('| controller | constraint | after 100 | after 200 | proposals for 200 evaluations |');
  console.log('|---|---|---|---|---|');
  for (const setting of SETTINGS) {
    for (const controller of CONTROLLERS) {
      const at100: number[] = [];
      const at200: number[] = [];
      const proposals: number[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = await curve(controller, setting.constraints, seed, 200);
        at100.push(r.best[99]);
        at200.push(r.best[199]);
        proposals.push(r.proposals);
      }
      console.log(`| ${controller} | ${setting.label} | ${meanCiText(at100)} | ${meanCiText(at200)} | ${mean(proposals).toFixed(0)} |`);
    }
  }

  const target = +(top - 0.2).toFixed(4);
  console.log(`\n## Evaluations until >= ${target} (within 0.2 of the best), ${REACH_SEEDS} seeds\n`);
  console.log('| controller | mean | 95% CI | median | reference mean (median) |');
  console.log('|---|---|---|---|---|');
  const reference: Record<string, string> = { random: '877 (645)', evolution: '78 (74)' };
  for (const controller of CONTROLLERS) {
    const counts: number[] = [];
    for (let seed = 1; seed <= REACH_SEEDS; seed++) {
      const r = await curve(controller, [], seed, 20_000, target);
      const n = trialsToReach(r.trials, target);
      if (n === null) throw new Error(`${controller} seed ${seed} never reached ${target}`);
      counts.push(n);
    }
    const ci = meanCI(counts);
    console.log(`| ${controller} | ${ci.mean.toFixed(0)} | ± ${ci.half.toFixed(0)} | ${median(counts)} | ${reference[controller]} |`);
  }
}

await main();
