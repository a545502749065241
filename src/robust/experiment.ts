import { tf, setSeed } from '../backend/index.js';
import { createRng } from '../core/index.js';
import { meanCI } from '../math/index.js';
import { logitsModel } from '../nn/index.js';
import { shapesCnn } from './model.js';
import { attacks, type Classifier } from './registry.js';
import {
  IMAGE_SIZE, LATENT_DIM, clampToBox, distanceToBoundary, distancesOf, labelsOf, render, sampleLatents,
} from './problem.js';
import { trainInfinite } from './train.js';

/**
 * The "excusable adversarial examples" experiment (Kindermans and Staats 2022) on Kiln's controlled
 * problem: train classifiers on infinite data (standard and with Gaussian noise), then compare where
 * test errors, off-manifold adversarial errors (PGD-L2 in pixel space) and on-manifold adversarial
 * errors (PGD in latent space, same L2 budget in image space) lie relative to the true boundary.
 */
export interface ExcusableConfig {
  seeds: number;
  steps: number;
  batchSize: number;
  /** Peak rate of the warm-up + cosine schedule. */
  learningRate: number;
  /** The classifier (see `shapesCnn`): two strided conv layers and a dense layer. */
  filters: [number, number];
  dense: number;
  /** Gaussian-noise training levels; sigma 0 (standard training) is always included. */
  sigmas: number[];
  /** Image-space L2 budgets shared by the off- and on-manifold attacks. */
  eps: number[];
  /** "Close to the boundary" means a latent distance below delta. */
  delta: number;
  testSize: number;
  /** Correctly classified test points attacked per model. */
  attackSize: number;
  /** Iterations of both attacks (per restart for the on-manifold one). */
  attackSteps: number;
  onManifoldStepSize: number;
  /** On-manifold runs per point; off-manifold PGD needs one (it fools nearly every point). */
  onManifoldRestarts: number;
}

export const DEFAULT_CONFIG: ExcusableConfig = {
  seeds: 3, steps: 1500, batchSize: 128, learningRate: 3e-3, filters: [16, 32], dense: 128, sigmas: [0.1, 0.3],
  eps: [1, 2], delta: 0.05, testSize: 2000, attackSize: 150, attackSteps: 40, onManifoldStepSize: 0.05,
  onManifoldRestarts: 2,
};

export const QUICK_CONFIG: ExcusableConfig = {
  ...DEFAULT_CONFIG, seeds: 1, steps: 100, sigmas: [0.3], eps: [1.5], testSize: 300, attackSize: 24, attackSteps: 8,
  onManifoldRestarts: 1,
};

/** One attack at one eps on one trained model. */
export interface AttackRun {
  eps: number;
  attacked: number;
  offErrors: number;
  onErrors: number;
  /** Latent distance to the boundary of the attacked points that off-manifold PGD fooled. */
  offDistances: number[];
  /** Latent distance to the boundary of the on-manifold adversarial latents that are errors. */
  onDistances: number[];
}

export interface ModelRun {
  sigma: number;
  seed: number;
  testError: number;
  errorDistances: number[];
  attacks: AttackRun[];
  trainSeconds: number;
  /** CPU seconds of this process spent training and evaluating this model (wall time varies with load). */
  cpuSeconds: number;
}

/** Flattened 28x28 images for the report's grid: clean, off-manifold and on-manifold adversarial. */
export interface ExampleImages {
  sigma: number;
  eps: number;
  clean: Float32Array[];
  off: Float32Array[];
  on: Float32Array[];
}

export interface ExcusableResult {
  config: ExcusableConfig;
  runs: ModelRun[];
  /** Latent distances of all test points (the base rate for "close to the boundary"). */
  testDistances: number[];
  examples: ExampleImages[];
  seconds: number;
  cpuSeconds: number;
}

/**
 * Receives the experiment's progress lines.
 *
 * @inline
 */
export type ExcusableProgress = (message: string) => void;

const EXAMPLES = 8;

/**
 * Runs the excusable-adversarial-examples experiment described at `ExcusableConfig` and returns every
 * model's errors and their distances to the true boundary; `log` receives progress lines.
 */
export function runExcusable(config: ExcusableConfig, log: ExcusableProgress = () => {}): ExcusableResult {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sigmas = [0, ...config.sigmas.filter((s) => s > 0)];
  const runs: ModelRun[] = [];
  const examples: ExampleImages[] = [];
  let testDistances: number[] = [];
  for (let seed = 0; seed < config.seeds; seed++) {
    const testZ = sampleLatents(config.testSize, createRng(1000 + seed));
    const testY = labelsOf(testZ);
    if (seed === 0) testDistances = Array.from(distancesOf(testZ));
    for (const sigma of sigmas) {
      setSeed(seed * 7919 + Math.round(sigma * 1000));
      const rng = createRng(seed * 31 + Math.round(sigma * 1000));
      const cpuStart = process.cpuUsage();
      const model = shapesCnn({ filters: config.filters, dense: config.dense });
      const logits = logitsModel(model);
      const tTrain = performance.now();
      trainInfinite(logits, { steps: config.steps, batchSize: config.batchSize, learningRate: config.learningRate, sigma, rng });
      const trainSeconds = (performance.now() - tTrain) / 1000;
      const classifier: Classifier = (x) => logits.apply(x) as tf.Tensor2D;
      const run = evaluateModel(classifier, testZ, testY, config, sigma, seed, seed === 0 ? examples : null);
      run.trainSeconds = trainSeconds;
      run.cpuSeconds = cpuSecondsSince(cpuStart);
      runs.push(run);
      model.dispose();
      log(`seed ${seed} sigma ${sigma}: test error ${(100 * run.testError).toFixed(1)}%, ` +
        run.attacks.map((a) => `eps ${a.eps}: off ${a.offErrors}/${a.attacked} on ${a.onErrors}/${a.attacked}`).join(', ') +
        ` (train ${trainSeconds.toFixed(0)} s wall, ${run.cpuSeconds.toFixed(0)} CPU-s in all)`);
    }
  }
  return { config, runs, testDistances, examples, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSecondsSince(cpu0) };
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

function predictAll(model: Classifier, z: Float32Array, batch = 500): Int32Array {
  const n = z.length / LATENT_DIM;
  const out = new Int32Array(n);
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const p = tf.tidy(() => model(render(tf.tensor2d(z.subarray(s * LATENT_DIM, e * LATENT_DIM), [e - s, LATENT_DIM]))).argMax(1));
    out.set(p.dataSync() as Int32Array, s);
    p.dispose();
  }
  return out;
}

function evaluateModel(model: Classifier, testZ: Float32Array, testY: Int32Array, config: ExcusableConfig, sigma: number,
  seed: number, examples: ExampleImages[] | null): ModelRun {
  const pred = predictAll(model, testZ);
  const errorDistances: number[] = [];
  const correct: number[] = [];
  for (let i = 0; i < testY.length; i++) {
    const zi = testZ.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM);
    if (pred[i] !== testY[i]) errorDistances.push(distanceToBoundary(zi));
    else if (correct.length < config.attackSize) correct.push(i);
  }
  const za = new Float32Array(correct.length * LATENT_DIM);
  correct.forEach((i, k) => za.set(testZ.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM), k * LATENT_DIM));
  const runs = config.eps.map((eps, e) => attackBoth(model, za, Int32Array.from(correct, (i) => testY[i]), eps, config,
    seed * 1000 + e, examples && e === config.eps.length - 1 ? { list: examples, sigma } : null));
  return { sigma, seed, testError: errorDistances.length / testY.length, errorDistances, attacks: runs, trainSeconds: 0,
    cpuSeconds: 0 };
}

function attackBoth(model: Classifier, za: Float32Array, ya: Int32Array, eps: number, config: ExcusableConfig,
  seed: number, keep: { list: ExampleImages[]; sigma: number } | null): AttackRun {
  const n = ya.length;
  const z = tf.tensor2d(za, [n, LATENT_DIM]);
  const x = render(z);
  const y = tf.tensor1d(ya, 'int32');
  const off = attacks.get('pgd-l2').run(model, x, y, { eps, steps: config.attackSteps, seed });
  const on = attacks.get('on-manifold').run(model, x, y, {
    eps, steps: config.attackSteps, stepSize: config.onManifoldStepSize, restarts: config.onManifoldRestarts, seed,
    manifold: { z, render, project: clampToBox, trueLabels: labelsOf },
  });
  const offPred = tf.tidy(() => model(off.x).argMax(1).dataSync() as Int32Array);
  const onPred = tf.tidy(() => model(on.x).argMax(1).dataSync() as Int32Array);
  const onZ = on.z!.dataSync() as Float32Array;
  const onTrue = labelsOf(onZ);
  const offDistances: number[] = [];
  const onDistances: number[] = [];
  for (let i = 0; i < n; i++) {
    if (offPred[i] !== ya[i]) offDistances.push(distanceToBoundary(za.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM)));
    if (onPred[i] !== onTrue[i]) onDistances.push(distanceToBoundary(onZ.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM)));
  }
  if (keep) keep.list.push({ sigma: keep.sigma, eps, ...pickExamples(x, off.x, on.x, offPred, ya) });
  tf.dispose([z, x, y, off.x, on.x, on.z!]);
  return { eps, attacked: n, offErrors: offDistances.length, onErrors: onDistances.length, offDistances, onDistances };
}

/** The first EXAMPLES attacked images, preferring ones where the off-manifold attack succeeded. */
function pickExamples(x: tf.Tensor4D, off: tf.Tensor4D, on: tf.Tensor4D, offPred: Int32Array, y: Int32Array) {
  const size = IMAGE_SIZE * IMAGE_SIZE;
  const order = [...y.keys()].sort((a, b) => Number(offPred[b] !== y[b]) - Number(offPred[a] !== y[a]) || a - b)
    .slice(0, EXAMPLES);
  const rows = (t: tf.Tensor4D) => {
    const d = t.dataSync() as Float32Array;
    return order.map((i) => d.slice(i * size, (i + 1) * size));
  };
  return { clean: rows(x), off: rows(off), on: rows(on) };
}

/** Mean and 95% interval over seeds of a per-run quantity, for one sigma. */
export function summarize(result: ExcusableResult, sigma: number, f: (run: ModelRun) => number) {
  return meanCI(result.runs.filter((r) => r.sigma === sigma).map(f));
}
