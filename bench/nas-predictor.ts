/**
 * Neural Predictor quality (Wen et al. 2019) as Kendall's tau between predicted and true accuracy
 * on held-out cells, mean ± 95% CI over seeds, for the GCN on cell DAGs and the MLP on one-hot:
 *  - NAS-Bench-101 500-cell sample, 292 distinct models (cells equal after pruning merged, their
 *    accuracies averaged): 172 models for training, the other 120 for testing, so no model is in both;
 *  - NAS-Bench-201 CIFAR-10: N in {50, 100, 172} training cells, every other cell for testing.
 * GCN: the paper's training (300 epochs, batch 10, Adam 1e-4, weight decay 1e-3, width by N).
 * A GCN fit at width 144 takes minutes on a busy 2-core machine; --models mlp skips it.
 * Run: node dist/bench/nas-predictor.js [--seeds 5] [--backend wasm] [--models mlp,gcn] [--tables nb101,nb201]
 */
import { initBackend } from '../src/backend/index.js';
import { createRng, dataPath } from '../src/core/index.js';
import { kendallTau, meanCI } from '../src/math/index.js';
import {
  fitPredictor, loadTable, nb101Space, nb201Space, PREDICTOR_DEFAULTS, PREDICTOR_MODELS,
  type Architecture, type SearchSpace,
} from '../src/nas/index.js';
import { arg } from './args.js';

const SEEDS = Number(arg('--seeds', '5'));
const MODELS = arg('--models', PREDICTOR_MODELS.join(',')).split(',') as (typeof PREDICTOR_MODELS)[number][];
const TABLES = arg('--tables', 'nb101,nb201').split(',');
await initBackend(arg('--backend', '') || undefined);

function tau(space: SearchSpace, archs: readonly Architecture[], y: readonly number[], n: number, seed: number, model: (typeof PREDICTOR_MODELS)[number]) {
  const order = createRng(seed).shuffle(archs.map((_, i) => i));
  const train = order.slice(0, n);
  const test = order.slice(n);
  const p = fitPredictor(space, train.map((i) => archs[i]), train.map((i) => y[i]), { model, ...PREDICTOR_DEFAULTS[model], seed });
  const predicted = p.predict(test.map((i) => archs[i]));
  p.dispose();
  return kendallTau(predicted, test.map((i) => y[i]));
}

function row(label: string, space: SearchSpace, archs: readonly Architecture[], y: readonly number[], n: number) {
  const cells = MODELS.map((model) => {
    const t0 = Date.now();
    const taus = Array.from({ length: SEEDS }, (_, s) => tau(space, archs, y, n, s + 1, model));
    const { mean, half } = meanCI(taus);
    return `${mean.toFixed(3)} ± ${half.toFixed(3)} (${((Date.now() - t0) / 1000 / SEEDS).toFixed(0)} s/fit)`;
  });
  console.log(`| ${label} | ${n} | ${archs.length - n} | ${cells.join(' | ')} |`);
}

console.log(`Kendall tau on held-out models, mean ± 95% CI over ${SEEDS} seeds\n`);
console.log(`| table | train N | test | ${MODELS.join(' | ')} |`);
console.log(`|---|---|---|${MODELS.map(() => '---').join('|')}|`);
if (TABLES.includes('nb101')) {
  const t101 = loadTable(dataPath('nb101', 'nb101-sample500.json'), nb101Space);
  row(`NAS-Bench-101 sample (${t101.size} models)`, nb101Space, t101.archs, Array.from(t101.column('val_acc')), 172);
}
if (TABLES.includes('nb201')) {
  const t201 = loadTable(dataPath('nb201', 'nb201-cifar10.csv'), nb201Space);
  for (const n of [50, 100, 172]) row('NAS-Bench-201 CIFAR-10', nb201Space, t201.archs, Array.from(t201.column('cifar10_test_acc')), n);
}
