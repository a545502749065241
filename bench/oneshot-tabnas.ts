/**
 * TabNAS on real tabular data: rejection REINFORCE (MC-corrected) over the 2-layer MLP width
 * supernet under a parameter limit, against (a) the best feasible architecture of an exhaustive
 * standalone sweep of the same space and (b) the reward-shaped (abs) search.
 * For each dataset x seed x mode: the final pick's parameters and feasibility, P(feasible) under
 * the final policy, the pick trained standalone (test accuracy), and its rank among the sweep.
 * Run: node dist/bench/oneshot-tabnas.js [--seeds 3] [--steps 800] [--out bench-out/tabnas]
 */
import fs from 'node:fs';
import path from 'node:path';
import { mean } from '../src/math/index.js';
import { initBackend, setSeed } from '../src/backend/index.js';
import { fitStandardizer, loadDataset, splitDataset, standardize, type Splits } from '../src/data/index.js';
import { mlp } from '../src/nn/index.js';
import { enumerate, mlpParams, mlpWidthSpace, mlpWidths, tabnasSearch, trainStandalone, type TabnasMode } from '../src/nas/oneshot/index.js';
import { arg } from './args.js';

const SEEDS = Number(arg('--seeds', '3'));
const STEPS = Number(arg('--steps', '800'));
const OUT = arg('--out', 'bench-out/tabnas');
const DATASETS: { name: string; limit: number; epochs: number }[] = [
  { name: 'wine', limit: 2000, epochs: 40 },
  { name: 'breast_cancer', limit: 2500, epochs: 25 },
  { name: 'digits', limit: 6000, epochs: 15 },
];
const MODES: { label: string; mode: TabnasMode; beta?: number }[] = [
  { label: 'rejection+MC', mode: 'rejection' },
  { label: 'abs beta=-0.1', mode: 'abs', beta: -0.1 },
  { label: 'abs beta=-1', mode: 'abs', beta: -1 },
];

function prepare(name: string): Splits {
  const sp = splitDataset(loadDataset(name), { seed: 0 });
  const s = fitStandardizer(sp.train);
  return { train: standardize(sp.train, s), val: standardize(sp.val, s), test: standardize(sp.test, s) };
}

async function main(): Promise<void> {
  await initBackend(arg('--backend', '') || undefined);
  fs.mkdirSync(OUT, { recursive: true });
  const rows: string[] = ['| dataset | limit | mode | seed | pick | params | feasible | P(feasible) | pick test acc | pick val rank | sweep best (val) | its test acc | search steps/s |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  const summary: string[] = [];
  const records: unknown[] = [];
  for (const d of DATASETS) {
    const splits = prepare(d.name);
    const inputs = splits.train.shape[0];
    const classes = splits.train.classNames.length;
    const space = mlpWidthSpace(2);
    const train = { epochs: d.epochs, batchSize: 32, lr: 3e-3, seed: 0 };
    // Exhaustive standalone sweep of every feasible child (one training seed).
    const sweep = new Map<string, { params: number; val: number; test: number }>();
    for (const a of enumerate(space)!) {
      const widths = mlpWidths(space, a);
      const params = mlpParams(inputs, widths, classes);
      if (params > d.limit) continue;
      const r = await trainStandalone(() => mlp({ inputs, hidden: widths, outputs: classes }), splits, train);
      r.model.dispose();
      sweep.set(space.toString(a), { params, val: r.valAccuracy, test: r.testAccuracy });
    }
    const ranked = [...sweep].sort((a, b) => b[1].val - a[1].val || b[1].params - a[1].params);
    const [bestArch, best] = ranked[0];
    console.log(`${d.name}: ${sweep.size} feasible; sweep best ${bestArch} val ${best.val.toFixed(3)} test ${best.test.toFixed(3)}`);
    for (const m of MODES) {
      const tests: number[] = [];
      let feasibleRuns = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        setSeed(seed);
        const r = await tabnasSearch({ splits, layers: 2, limit: d.limit, mode: m.mode, beta: m.beta, steps: STEPS, batchSize: 32, lr: 3e-3,
          controllerLr: 0.05, warmup: 0.25, quality: 'likelihood', seed });
        const pick = r.space.toString(r.pick);
        const widths = mlpWidths(r.space, r.pick);
        const alone = await trainStandalone(() => mlp({ inputs, hidden: widths, outputs: classes }), splits, train);
        alone.model.dispose();
        r.supernet.dispose();
        const rank = r.pickFeasible ? ranked.findIndex(([k]) => k === pick) + 1 : NaN;
        if (r.pickFeasible) feasibleRuns++;
        tests.push(alone.testAccuracy);
        rows.push(`| ${d.name} | ${d.limit} | ${m.label} | ${seed} | ${pick} | ${r.pickParams} | ${r.pickFeasible ? 'yes' : 'NO'} | ${r.feasibleProbability.toFixed(2)} | ` +
          `${alone.testAccuracy.toFixed(3)} | ${Number.isNaN(rank) ? '-' : `${rank}/${sweep.size}`} | ${bestArch} (${best.val.toFixed(3)}) | ${best.test.toFixed(3)} | ${r.search.stepsPerSecond.toFixed(1)} |`);
        records.push({ dataset: d.name, limit: d.limit, mode: m.label, seed, pick, params: r.pickParams, feasible: r.pickFeasible,
          pFeasible: r.feasibleProbability, pickTest: alone.testAccuracy, pickVal: alone.valAccuracy, rank, sweepSize: sweep.size,
          sweepBest: bestArch, sweepBestTest: best.test, stepsPerSecond: r.search.stepsPerSecond });
        console.log(rows[rows.length - 1]);
      }
      summary.push(`- ${d.name} (limit ${d.limit}), ${m.label}: feasible picks ${feasibleRuns}/${SEEDS}, mean standalone test acc ${mean(tests).toFixed(3)} vs sweep best ${best.test.toFixed(3)}`);
    }
  }
  const md = `# TabNAS one-shot search (${STEPS} steps, ${SEEDS} seeds)\n\n${rows.join('\n')}\n\n${summary.join('\n')}\n`;
  fs.writeFileSync(path.join(OUT, 'tabnas.md'), md);
  fs.writeFileSync(path.join(OUT, 'tabnas.json'), JSON.stringify(records, null, 1));
  console.log(md);
}

await main();
