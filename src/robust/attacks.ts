import { tf } from '../backend/index.js';
import { createRegistry, type OptionSpec } from '../core/index.js';

/**
 * Adversarial attacks on image classifiers with pixels in [0, 1]. Every attack is untargeted: it
 * looks, within its epsilon ball, for an input that the model does not assign label `y`. An attack
 * keeps the first iterate that fools the model (per example), so more steps never lose a success.
 */

/** A classifier as attacks see it: images [n, h, w, c] -> pre-softmax scores [n, classes]. */
export type Classifier = (x: tf.Tensor4D) => tf.Tensor2D;

/** The data manifold around `x` for on-manifold attacks: x = render(z). */
export interface ManifoldContext {
  z: tf.Tensor2D;
  render: (z: tf.Tensor2D) => tf.Tensor4D;
  /** Keeps latents on the support of the data (e.g. clamps to the sampling box). */
  project?: (z: tf.Tensor2D) => tf.Tensor2D;
  /**
   * The true labels of latents. When given, an on-manifold point is an error only if the model
   * disagrees with its own true label (moving along the manifold may legitimately change the class).
   */
  trueLabels?: (z: Float32Array) => Int32Array;
}

export interface AttackOptions {
  /** Radius of the perturbation ball in the attack's norm (pixels in [0, 1]). */
  eps: number;
  steps?: number;
  /** Step size; defaults depend on the attack (a fraction of eps for PGD). */
  stepSize?: number;
  randomStart?: boolean;
  /** Independent runs of a restartable attack; an example counts as fooled if any run fools it. */
  restarts?: number;
  seed?: number;
  /** DeepFool's overshoot factor. */
  overshoot?: number;
  manifold?: ManifoldContext;
}

/** One attack of a sequence (AutoAttack): how many examples it left robust, and its time. */
export interface AttackStage {
  attack: string;
  robust: number;
  seconds: number;
}

export interface AttackResult {
  x: tf.Tensor4D;
  /** A sequence's attacks in order (AutoAttack). */
  stages?: AttackStage[];
  /** What the attack found suspicious about the evaluation (AutoAttack: masked gradients, randomness). */
  warnings?: string[];
  /** Latents of the adversarial images (on-manifold attacks only). */
  z?: tf.Tensor2D;
}

/** The norm of an attack's threat model. */
export type ThreatNorm = 'linf' | 'l2' | 'l1';

/** How reports and option help write each norm. */
export const NORM_NAMES: Record<ThreatNorm, string> = { linf: 'Linf', l2: 'L2', l1: 'L1' };

export interface Attack {
  name: string;
  norm: ThreatNorm;
  /** True when the attack needs `opts.manifold`. */
  needsManifold: boolean;
  /** The options `run` reads (besides `manifold`), for `kiln attack --list` and `--option` parsing. */
  options: readonly OptionSpec[];
  run(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: AttackOptions): AttackResult;
}

export const attacks = createRegistry<Attack>('attack');

/** Option specs shared by several attacks. */
export const EPS_OPTION = (norm: string): OptionSpec =>
  ({ name: 'eps', type: 'number', min: 0, description: `${norm} radius of the perturbation ball, pixels in [0, 1] (required)` });
export const SEED_OPTION: OptionSpec = { name: 'seed', type: 'integer', default: 0, min: 0, description: 'random start seed' };

/**
 * The attack objective: the margin max_{k != y} logit_k - logit_y, summed over the batch (positive
 * once the example is misclassified). Gradient attacks climb it instead of the cross-entropy because
 * tfjs's cross-entropy gradient is exactly 0 in float32 for a confident model (logit gap above ~17),
 * which would let a confident model mask its gradients; the margin's gradient never vanishes.
 */
export function marginLoss(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(y, logits.shape[1]);
    const own = logits.mul(onehot).sum(1);
    const other = logits.sub(onehot.mul(1e9)).max(1);
    return other.sub(own).sum() as tf.Scalar;
  });
}

/** Gradient of the summed margin loss with respect to the input images. */
export function lossGradient(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => tf.grad((inp: tf.Tensor) => marginLoss(model(inp as tf.Tensor4D), y))(x) as tf.Tensor4D);
}

/** 1 where the model's prediction differs from `y`, else 0 (float, shape [n]). */
export function fooled(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.notEqual(model(x).argMax(1), y).toFloat() as tf.Tensor1D);
}

/** Per-example L2 norms of a batch, shape [n, 1, 1, 1] for broadcasting. */
export function l2Norms(t: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => tf.sqrt(t.square().sum([1, 2, 3], true).add(1e-24)) as tf.Tensor4D);
}

/** Per-example size of a perturbation batch in a norm, shape [n]. */
export function perturbationNorms(delta: tf.Tensor4D, norm: ThreatNorm): tf.Tensor1D {
  return tf.tidy(() => {
    if (norm === 'linf') return delta.abs().max([1, 2, 3]) as tf.Tensor1D;
    if (norm === 'l1') return delta.abs().sum([1, 2, 3]) as tf.Tensor1D;
    return delta.square().sum([1, 2, 3]).sqrt() as tf.Tensor1D;
  });
}

/** Projects a perturbation onto the L2 ball of radius eps (per example). */
export function projectL2(delta: tf.Tensor4D, eps: number): tf.Tensor4D {
  return tf.tidy(() => delta.mul(tf.minimum(1, tf.scalar(eps).div(l2Norms(delta)))) as tf.Tensor4D);
}

/** Rows of `candidate` where `mask` (shape [n]) is 1, rows of `current` elsewhere. */
export function selectRows<T extends tf.Tensor>(mask: tf.Tensor1D, candidate: T, current: T): T {
  return tf.tidy(() => {
    const m = mask.reshape([-1, ...candidate.shape.slice(1).map(() => 1)]).cast('bool');
    return tf.where(m, candidate, current) as T;
  });
}

/**
 * Per example, keeps the first iterate that fooled the model (`now` marks this step's successes):
 * returns the updated best iterates and success mask, disposing the ones passed in.
 */
export function recordSuccesses<T extends tf.Tensor>(best: T, found: tf.Tensor1D, current: T, now: tf.Tensor1D): { best: T; found: tf.Tensor1D } {
  const fresh = tf.tidy(() => now.mul(tf.scalar(1).sub(found)) as tf.Tensor1D);
  const nextBest = selectRows(fresh, current, best);
  const nextFound = tf.tidy(() => tf.maximum(found, now) as tf.Tensor1D);
  tf.dispose([best, found, now, fresh]);
  return { best: nextBest, found: nextFound };
}

/**
 * Runs an iterative attack: `step` maps the current iterate to the next (already projected and
 * clipped); the result keeps, per example, the first iterate that fooled the model, else the last.
 */
export function keepFirstSuccess(
  model: Classifier,
  y: tf.Tensor1D,
  start: tf.Tensor4D,
  steps: number,
  step: (current: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  let current = start.clone();
  let best = current.clone();
  let found = fooled(model, current, y);
  for (let i = 0; i < steps; i++) {
    const next = step(current);
    current.dispose();
    current = next;
    ({ best, found } = recordSuccesses(best, found, current, fooled(model, current, y)));
  }
  // Examples never fooled end at the last iterate (what a plain PGD returns).
  const out = selectRows(found, best, current);
  tf.dispose([current, best, found]);
  return out;
}

/**
 * Runs `run` on the clean rows of `x` that `current` still leaves correctly classified, and returns
 * `current` with the rows the run fooled replaced (the others unchanged); `current` is disposed.
 * How sequential and restarted attacks spend their work only on the points still robust.
 */
export function attackRobustRows(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, current: tf.Tensor4D,
  run: (rows: tf.Tensor4D, labels: tf.Tensor1D, index: tf.Tensor1D) => tf.Tensor4D): tf.Tensor4D {
  const robust = tf.tidy(() => tf.equal(model(current).argMax(1), y));
  const index = Int32Array.from(robust.dataSync(), (v, i) => (v ? i : -1)).filter((i) => i >= 0);
  robust.dispose();
  if (index.length === 0) return current;
  const idx = tf.tensor1d(index, 'int32');
  const labels = tf.gather(y, idx) as tf.Tensor1D;
  const rows = tf.gather(x, idx) as tf.Tensor4D;
  const found = run(rows, labels, idx);
  const merged = tf.tidy(() => {
    const chosen = selectRows(fooled(model, found, labels), found, tf.gather(current, idx) as tf.Tensor4D);
    return tf.tensorScatterUpdate(current, idx.reshape([-1, 1]), chosen) as tf.Tensor4D;
  });
  tf.dispose([idx, labels, rows, found, current]);
  return merged;
}
