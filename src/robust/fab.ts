import { tf } from '../backend/index.js';
import { check, createRng, type OptionSpec } from '../core/index.js';
import { EPS_OPTION, NORM_NAMES, SEED_OPTION, attackRobustRows, type Attack, type AttackOptions, type Classifier, type ThreatNorm } from './attacks.js';
import { projectOntoHyperplane, vectorNorm } from './fab-projections.js';
import { checkEps } from './pgd.js';

/**
 * FAB, the fast adaptive boundary attack (Croce & Hein 2020, "Minimally distorted adversarial
 * examples with a fast adaptive boundary attack"), as in the reference code (fra31/auto-attack,
 * fab_base.py, fab_pt.py). A minimal-norm attack: each step linearises the model at the iterate,
 * picks the class boundary that is closest under that linearisation, projects both the iterate and
 * the clean image onto it (within the [0, 1] box) and moves to a mix of the two projections,
 * overshooting by eta = 1.05 and leaning toward the clean image's projection by at most
 * alpha_max = 0.1; once the iterate fools the model it is kept if it is the closest so far and pulled
 * back toward the clean image by beta = 0.9. 100 iterations; restarts after the first begin at a
 * random point at half eps. FAB-T replaces "closest boundary" by the boundary with one target class,
 * the 2nd..10th largest clean logits in turn (the reference's 9 targets), one restart each.
 * As an eps-attack (AutoAttack's use), an example counts only if its minimal perturbation is <= eps.
 */

export interface FabOptions {
  eps: number;
  norm: ThreatNorm;
  steps?: number;
  restarts?: number;
  targeted?: boolean;
  targets?: number;
  alphaMax?: number;
  eta?: number;
  beta?: number;
  seed?: number;
}

interface FabSettings {
  norm: ThreatNorm;
  eps: number;
  steps: number;
  alphaMax: number;
  eta: number;
  beta: number;
}

/**
 * Differences to the label's logit and their input gradients at x, as flat arrays: untargeted, one
 * row per class (the label's own row set far away so it is never chosen); targeted, the target only.
 */
function boundaryLinearisation(model: Classifier, x: tf.Tensor4D, y: Int32Array, target?: Int32Array): { df: Float32Array; dg: Float32Array; rows: number } {
  const n = x.shape[0];
  const logits = tf.tidy(() => model(x));
  const classes = logits.shape[1];
  const f = logits.dataSync() as Float32Array;
  logits.dispose();
  if (target) {
    const yt = tf.tensor1d(y, 'int32');
    const tt = tf.tensor1d(target, 'int32');
    const g = tf.tidy(() => tf.grad((inp: tf.Tensor) => {
      const z = model(inp as tf.Tensor4D);
      return z.mul(tf.oneHot(tt, classes).sub(tf.oneHot(yt, classes))).sum() as tf.Scalar;
    })(x));
    const dg = g.dataSync() as Float32Array;
    tf.dispose([g, yt, tt]);
    const df = Float32Array.from({ length: n }, (_, i) => f[i * classes + target[i]] - f[i * classes + y[i]]);
    return { df, dg, rows: 1 };
  }
  // The full Jacobian in one backward pass: the batch tiled once per class, copy k differentiating logit k.
  const jac = tf.tidy(() => {
    const tiled = tf.tile(x, [classes, 1, 1, 1]);
    const pick = tf.oneHot(tf.range(0, classes, 1, 'int32'), classes).reshape([classes, 1, classes]).tile([1, n, 1]).reshape([classes * n, classes]);
    return tf.grad((inp: tf.Tensor) => model(inp as tf.Tensor4D).mul(pick).sum() as tf.Scalar)(tiled);
  });
  const g = jac.dataSync() as Float32Array; // [class][example][pixel]
  jac.dispose();
  const size = g.length / (classes * n);
  const df = new Float32Array(n * classes);
  const dg = new Float32Array(n * classes * size);
  for (let i = 0; i < n; i++) {
    const own = g.subarray((y[i] * n + i) * size, (y[i] * n + i + 1) * size);
    for (let k = 0; k < classes; k++) {
      df[i * classes + k] = k === y[i] ? 1e10 : f[i * classes + k] - f[i * classes + y[i]];
      const gk = g.subarray((k * n + i) * size, (k * n + i + 1) * size);
      const out = dg.subarray((i * classes + k) * size, (i * classes + k + 1) * size);
      for (let j = 0; j < size; j++) out[j] = gk[j] - own[j];
    }
  }
  return { df, dg, rows: classes };
}

const DUAL: Record<ThreatNorm, ThreatNorm> = { linf: 'l1', l2: 'l2', l1: 'linf' };

function predictions(model: Classifier, x: Float32Array, shape: [number, number, number, number]): Int32Array {
  const p = tf.tidy(() => model(tf.tensor4d(x, shape)).argMax(1));
  const out = p.dataSync() as Int32Array;
  p.dispose();
  return out;
}

/**
 * One FAB run on examples the model classifies correctly: per example the smallest adversarial
 * image found and its distance (Infinity when none).
 */
function fabRun(model: Classifier, x: tf.Tensor4D, y: Int32Array, s: FabSettings, start: Float32Array | undefined, target?: Int32Array): { adv: Float32Array; dist: Float64Array } {
  const shape = x.shape;
  const n = shape[0];
  const x0 = x.dataSync() as Float32Array;
  const size = x0.length / n;
  const x1 = Float32Array.from(start ?? x0);
  const adv = Float32Array.from(x0);
  const dist = new Float64Array(n).fill(Infinity);
  const d1 = new Float32Array(size);
  const d2 = new Float32Array(size);
  for (let it = 0; it < s.steps; it++) {
    const current = tf.tensor4d(x1, shape);
    const { df, dg, rows } = boundaryLinearisation(model, current, y, target);
    current.dispose();
    for (let i = 0; i < n; i++) {
      // The boundary closest under the linearisation: |f_k| / ||grad f_k||_dual.
      let best = 0;
      let bestDist = Infinity;
      for (let k = 0; k < rows; k++) {
        const g = dg.subarray((i * rows + k) * size, (i * rows + k + 1) * size);
        const dk = Math.abs(df[i * rows + k]) / (1e-12 + vectorNorm(DUAL[s.norm], g));
        if (dk < bestDist) { bestDist = dk; best = k; }
      }
      const w = dg.subarray((i * rows + best) * size, (i * rows + best + 1) * size);
      const xi = x1.subarray(i * size, (i + 1) * size);
      const ci = x0.subarray(i * size, (i + 1) * size);
      let b = -df[i * rows + best];
      for (let j = 0; j < size; j++) b += w[j] * xi[j];
      projectOntoHyperplane(s.norm, xi, w, b, d1);
      projectOntoHyperplane(s.norm, ci, w, b, d2);
      const a1 = Math.max(vectorNorm(s.norm, d1), 1e-8);
      const a2 = Math.max(vectorNorm(s.norm, d2), 1e-8);
      const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), s.alphaMax);
      for (let j = 0; j < size; j++) {
        const v = (xi[j] + s.eta * d1[j]) * (1 - alpha) + (ci[j] + s.eta * d2[j]) * alpha;
        xi[j] = Math.min(1, Math.max(0, v));
      }
    }
    const predicted = predictions(model, x1, shape);
    for (let i = 0; i < n; i++) {
      if (predicted[i] === y[i]) continue;
      const xi = x1.subarray(i * size, (i + 1) * size);
      const ci = x0.subarray(i * size, (i + 1) * size);
      const t = vectorNorm(s.norm, xi, ci);
      if (t < dist[i]) {
        dist[i] = t;
        adv.set(xi, i * size);
      }
      // The backward step: restart the search closer to the clean image.
      for (let j = 0; j < size; j++) xi[j] = ci[j] + (xi[j] - ci[j]) * s.beta;
    }
  }
  return { adv, dist };
}

/** Per row, the class with the (rank + 1)-th largest logit (rank 1: the runner-up). */
function targetClasses(model: Classifier, x: tf.Tensor4D, rank: number): Int32Array {
  const t = tf.tidy(() => tf.topk(model(x), rank + 1).indices.slice([0, rank], [-1, 1]).reshape([-1]));
  const out = t.dataSync() as Int32Array;
  t.dispose();
  return out;
}

/** A random start at half eps (the reference's restarts after the first). */
function randomStart(x: Float32Array, n: number, s: FabSettings, seed: number): Float32Array {
  const rng = createRng(seed);
  const size = x.length / n;
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    const t = Float32Array.from({ length: size }, () => (s.norm === 'linf' ? 2 * rng.next() - 1 : rng.normal()));
    const scale = (0.5 * s.eps) / Math.max(vectorNorm(s.norm, t), 1e-12);
    for (let j = 0; j < size; j++) out[i * size + j] = Math.min(1, Math.max(0, x[i * size + j] + scale * t[j]));
  }
  return out;
}

/**
 * FAB as an eps-attack: rows the model still classifies correctly get `restarts` runs (per target
 * for FAB-T); a row takes a run's adversarial image when its distance is at most eps.
 */
export function fab(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: FabOptions): tf.Tensor4D {
  checkEps(opts.eps);
  const s: FabSettings = {
    norm: opts.norm, eps: opts.eps, steps: opts.steps ?? 100,
    alphaMax: opts.alphaMax ?? 0.1, eta: opts.eta ?? 1.05, beta: opts.beta ?? 0.9,
  };
  const restarts = opts.restarts ?? 1;
  check(Number.isInteger(s.steps) && s.steps >= 1, `FAB steps must be a positive integer (got ${s.steps})`);
  check(Number.isInteger(restarts) && restarts >= 1, `FAB restarts must be a positive integer (got ${restarts})`);
  const seed = opts.seed ?? 0;
  const classes = tf.tidy(() => model(x.slice([0, 0, 0, 0], [1, -1, -1, -1])).shape[1]);
  const targets = opts.targeted ? Math.min(opts.targets ?? 9, classes - 1) : 1;
  let out = x.clone();
  for (let t = 0; t < targets; t++) {
    for (let r = 0; r < restarts; r++) {
      out = attackRobustRows(model, x, y, out, (rows, labels) => {
        const ys = labels.dataSync() as Int32Array;
        const n = ys.length;
        const target = opts.targeted ? targetClasses(model, rows, t + 1) : undefined;
        const clean = rows.dataSync() as Float32Array;
        const start = r > 0 ? randomStart(clean, n, s, seed + 1000 * r + t) : undefined;
        const { adv, dist } = fabRun(model, rows, ys, s, start, target);
        const size = clean.length / n;
        for (let i = 0; i < n; i++) if (!(dist[i] <= s.eps)) adv.set(clean.subarray(i * size, (i + 1) * size), i * size);
        return tf.tensor4d(adv, rows.shape);
      });
    }
  }
  return out;
}

const fabOptions = (norm: string, targeted: boolean): OptionSpec[] => [
  EPS_OPTION(norm),
  { name: 'steps', type: 'integer', default: 100, min: 1, description: 'iterations per run (reference: 100)' },
  { name: 'restarts', type: 'integer', default: 1, min: 1, description: 'runs on the points still robust, the later ones from random starts at half eps' },
  ...(targeted ? [{ name: 'targets', type: 'integer', default: 9, min: 1, description: 'target classes: the 2nd..(targets+1)-th largest clean logits' } as OptionSpec] : []),
  { name: 'alphaMax', type: 'number', default: 0.1, min: 0, max: 1, description: 'largest weight of the clean image\'s projection in a step' },
  { name: 'eta', type: 'number', default: 1.05, min: 1, description: 'overshoot of the projection step' },
  { name: 'beta', type: 'number', default: 0.9, min: 0, max: 1, description: 'backward step toward the clean image after a success' },
  SEED_OPTION,
];

type FabAttackOptions = AttackOptions & Partial<Pick<FabOptions, 'targets' | 'alphaMax' | 'eta' | 'beta'>>;


function fabAttack(name: string, norm: ThreatNorm, targeted: boolean): Attack {
  return {
    name, norm, needsManifold: false,
    options: fabOptions(NORM_NAMES[norm], targeted),
    run: (model, x, y, opts: FabAttackOptions) => ({ x: fab(model, x, y, { ...opts, norm, targeted }) }),
  };
}

export const fabLinf = fabAttack('fab', 'linf', false);
export const fabT = fabAttack('fab-t', 'linf', true);
export const fabL2 = fabAttack('fab-l2', 'l2', false);
export const fabTL2 = fabAttack('fab-t-l2', 'l2', true);
export const fabL1 = fabAttack('fab-l1', 'l1', false);
export const fabTL1 = fabAttack('fab-t-l1', 'l1', true);
