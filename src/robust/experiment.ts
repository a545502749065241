import { tf, setSeed } from '../backend/index.js';
import { check, createRng } from '../core/index.js';
import { meanCI } from '../math/index.js';
import { logitsModel } from '../nn/index.js';
import { shapesCnn } from './model.js';
import { attacks, fooled, type Classifier } from './registry.js';
import { selectRows } from './attacks.js';
import {
  IMAGE_SIZE, LATENT_DIM, clampToBox, distanceToBoundary, distancesOf, labelsOf, render, sampleLatents,
} from './problem.js';
import { trainInfinite } from './train.js';

/**
 * The "excusable adversarial examples" experiment (Kindermans and Staats 2022) on Kiln's controlled
 * problem: train classifiers on infinite data (standard, with Gaussian noise, or adversarially with
 * PGD-L2), then compare where test errors, off-manifold adversarial errors (PGD-L2 and/or AutoAttack-L2
 * in pixel space) and on-manifold adversarial errors (PGD in latent space, same L2 budget in image
 * space) lie relative to the true boundary.
 */

/** How a model is trained: plainly, with Gaussian pixel noise (one model per sigma), or on PGD-L2 examples. */
export const EXCUSABLE_TRAININGS = ['standard', 'noise', 'pgd'] as const;
export type ExcusableTraining = typeof EXCUSABLE_TRAININGS[number];
/** Off-manifold attacks: Kiln's pgd-l2, or AutoAttack's standard L2 version (autoattack-l2). */
export const OFF_MANIFOLD_ATTACKS = ['pgd', 'autoattack'] as const;
export type OffManifoldAttack = typeof OFF_MANIFOLD_ATTACKS[number];

/** One trained model of the experiment: its training and noise level (0 unless `noise`). */
export interface ModelKind {
  training: ExcusableTraining;
  sigma: number;
}

export interface ExcusableConfig {
  seeds: number;
  steps: number;
  batchSize: number;
  /** Peak rate of the warm-up + cosine schedule. */
  learningRate: number;
  /** The classifier (see `shapesCnn`): two strided conv layers and a dense layer. */
  filters: [number, number];
  dense: number;
  /** The trainings compared; `noise` trains one model per sigma. */
  trainings: ExcusableTraining[];
  /** Gaussian-noise training levels. */
  sigmas: number[];
  /** PGD training: image-space L2 budget and steps of the pgd-l2 attack that makes each batch. */
  adversarialEps: number;
  adversarialSteps: number;
  /** Off-manifold attacks; a point counts as an off-manifold error when any of them fools it. */
  offAttacks: OffManifoldAttack[];
  /** Image-space L2 budgets shared by the off- and on-manifold attacks. */
  eps: number[];
  /** "Close to the boundary" means a latent distance below delta. */
  delta: number;
  testSize: number;
  /** Correctly classified test points attacked per model. */
  attackSize: number;
  /** Iterations of PGD off and on the manifold (per restart for the on-manifold one); AutoAttack is parameter-free. */
  attackSteps: number;
  onManifoldStepSize: number;
  /** On-manifold runs per point; off-manifold PGD needs one (it fools nearly every point). */
  onManifoldRestarts: number;
}

export const DEFAULT_CONFIG: ExcusableConfig = {
  seeds: 3, steps: 1500, batchSize: 128, learningRate: 3e-3, filters: [16, 32], dense: 128,
  trainings: ['standard', 'noise'], sigmas: [0.1, 0.3], adversarialEps: 1, adversarialSteps: 7, offAttacks: ['pgd'],
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
  /** Attacked points that any off-manifold attack fooled. */
  offErrors: number;
  /** Attacked points each off-manifold attack fooled, by attack. */
  offByAttack: Partial<Record<OffManifoldAttack, number>>;
  onErrors: number;
  /** Latent distance to the boundary of the attacked points that an off-manifold attack fooled. */
  offDistances: number[];
  /** Latent distance to the boundary of the on-manifold adversarial latents that are errors. */
  onDistances: number[];
}

export interface ModelRun extends ModelKind {
  seed: number;
  testError: number;
  errorDistances: number[];
  attacks: AttackRun[];
  trainSeconds: number;
  /** CPU seconds of this process spent training and evaluating this model (wall time varies with load). */
  cpuSeconds: number;
}

/** Flattened 28x28 images for the report's grid: clean, off-manifold and on-manifold adversarial. */
export interface ExampleImages extends ModelKind {
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
  check(config.trainings.length > 0 && config.offAttacks.length > 0, 'the excusable experiment needs at least one training and one off-manifold attack');
  check(config.trainings.every((t) => (EXCUSABLE_TRAININGS as readonly string[]).includes(t)), `trainings must be among ${EXCUSABLE_TRAININGS.join(', ')} (got ${config.trainings.join(', ')})`);
  check(config.offAttacks.every((a) => (OFF_MANIFOLD_ATTACKS as readonly string[]).includes(a)), `off-manifold attacks must be among ${OFF_MANIFOLD_ATTACKS.join(', ')} (got ${config.offAttacks.join(', ')})`);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const runs: ModelRun[] = [];
  const examples: ExampleImages[] = [];
  let testDistances: number[] = [];
  for (let seed = 0; seed < config.seeds; seed++) {
    const testZ = sampleLatents(config.testSize, createRng(1000 + seed));
    const testY = labelsOf(testZ);
    if (seed === 0) testDistances = Array.from(distancesOf(testZ));
    for (const kind of modelKinds(config)) {
      const { sigma } = kind;
      const salt = Math.round(sigma * 1000) + (kind.training === 'pgd' ? 500 : 0);
      setSeed(seed * 7919 + salt);
      const rng = createRng(seed * 31 + salt);
      const cpuStart = process.cpuUsage();
      const model = shapesCnn({ filters: config.filters, dense: config.dense });
      const logits = logitsModel(model);
      const tTrain = performance.now();
      const adversarial = kind.training === 'pgd' ? { eps: config.adversarialEps, steps: config.adversarialSteps } : undefined;
      trainInfinite(logits, { steps: config.steps, batchSize: config.batchSize, learningRate: config.learningRate, sigma, rng, adversarial });
      const trainSeconds = (performance.now() - tTrain) / 1000;
      const classifier: Classifier = (x) => logits.apply(x) as tf.Tensor2D;
      const run = evaluateModel(classifier, testZ, testY, config, kind, seed, seed === 0 ? examples : null);
      run.trainSeconds = trainSeconds;
      run.cpuSeconds = cpuSecondsSince(cpuStart);
      runs.push(run);
      model.dispose();
      log(`seed ${seed} ${modelLabel(kind, config)}: test error ${(100 * run.testError).toFixed(1)}%, ` +
        run.attacks.map((a) => `eps ${a.eps}: off ${offText(a)}/${a.attacked} on ${a.onErrors}/${a.attacked}`).join(', ') +
        ` (train ${trainSeconds.toFixed(0)} s wall, ${run.cpuSeconds.toFixed(0)} CPU-s in all)`);
    }
  }
  return { config, runs, testDistances, examples, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSecondsSince(cpu0) };
}

/** The models a configuration trains per seed, in order. */
export function modelKinds(config: ExcusableConfig): ModelKind[] {
  return config.trainings.flatMap((training): ModelKind[] => {
    if (training === 'noise') return config.sigmas.filter((s) => s > 0).map((sigma) => ({ training, sigma }));
    return [{ training, sigma: 0 }];
  });
}

/** A model kind as people read it: "standard", "noise sigma 0.3", "PGD-L2 eps 1". */
export function modelLabel(kind: ModelKind, config: ExcusableConfig): string {
  if (kind.training === 'noise') return `noise sigma ${kind.sigma}`;
  return kind.training === 'pgd' ? `PGD-L2 eps ${config.adversarialEps}` : 'standard';
}

export const sameKind = (a: ModelKind, b: ModelKind): boolean => a.training === b.training && a.sigma === b.sigma;

/** "12" for one off-manifold attack, "12 (pgd 10, autoattack 12)" for several. */
function offText(a: AttackRun): string {
  const each = Object.entries(a.offByAttack);
  return each.length > 1 ? `${a.offErrors} (${each.map(([k, v]) => `${k} ${v}`).join(', ')})` : `${a.offErrors}`;
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

function evaluateModel(model: Classifier, testZ: Float32Array, testY: Int32Array, config: ExcusableConfig, kind: ModelKind,
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
    seed * 1000 + e, examples && e === config.eps.length - 1 ? { list: examples, kind } : null));
  return { ...kind, seed, testError: errorDistances.length / testY.length, errorDistances, attacks: runs, trainSeconds: 0,
    cpuSeconds: 0 };
}

function attackBoth(model: Classifier, za: Float32Array, ya: Int32Array, eps: number, config: ExcusableConfig,
  seed: number, keep: { list: ExampleImages[]; kind: ModelKind } | null): AttackRun {
  const n = ya.length;
  const z = tf.tensor2d(za, [n, LATENT_DIM]);
  const x = render(z);
  const y = tf.tensor1d(ya, 'int32');
  const offByAttack: AttackRun['offByAttack'] = {};
  // Per point, the first attack's image that fools the model, else the first attack's image.
  let off: tf.Tensor4D | null = null;
  for (const name of config.offAttacks) {
    const adv = name === 'pgd'
      ? attacks.get('pgd-l2').run(model, x, y, { eps, steps: config.attackSteps, seed }).x
      : attacks.get('autoattack-l2').run(model, x, y, { eps, seed }).x;
    const now = fooled(model, adv, y);
    const count = now.sum();
    offByAttack[name] = count.dataSync()[0];
    count.dispose();
    if (off) {
      const merged = tf.tidy(() => selectRows(tf.logicalAnd(now.cast('bool'), fooled(model, off!, y).equal(0)).toFloat() as tf.Tensor1D, adv, off!));
      tf.dispose([off, adv]);
      off = merged;
    } else {
      off = adv;
    }
    now.dispose();
  }
  const on = attacks.get('on-manifold').run(model, x, y, {
    eps, steps: config.attackSteps, stepSize: config.onManifoldStepSize, restarts: config.onManifoldRestarts, seed,
    manifold: { z, render, project: clampToBox, trueLabels: labelsOf },
  });
  const offPred = tf.tidy(() => model(off!).argMax(1).dataSync() as Int32Array);
  const onPred = tf.tidy(() => model(on.x).argMax(1).dataSync() as Int32Array);
  const onZ = on.z!.dataSync() as Float32Array;
  const onTrue = labelsOf(onZ);
  const offDistances: number[] = [];
  const onDistances: number[] = [];
  for (let i = 0; i < n; i++) {
    if (offPred[i] !== ya[i]) offDistances.push(distanceToBoundary(za.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM)));
    if (onPred[i] !== onTrue[i]) onDistances.push(distanceToBoundary(onZ.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM)));
  }
  if (keep) keep.list.push({ ...keep.kind, eps, ...pickExamples(x, off!, on.x, offPred, ya) });
  tf.dispose([z, x, y, off!, on.x, on.z!]);
  return { eps, attacked: n, offErrors: offDistances.length, offByAttack, onErrors: onDistances.length, offDistances, onDistances };
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

/** Mean and 95% interval over seeds of a per-run quantity, for one model kind. */
export function summarize(result: ExcusableResult, kind: ModelKind, f: (run: ModelRun) => number) {
  return meanCI(result.runs.filter((r) => sameKind(r, kind)).map(f));
}
