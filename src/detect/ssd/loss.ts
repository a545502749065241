import { check, KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';

/**
 * SSDLite's training loss on the heads' raw output `[batch, anchors, 4 + classes]`: smooth-L1
 * (Huber, delta 1) on the box regression of positive anchors plus a classification loss over
 * sigmoid class scores (no background class), both summed and divided by the number of positive
 * anchors in the batch (at least 1), as in RetinaNet, SSD and the TF Object Detection API. The
 * classification losses are registered by name (`SSD_CLASS_LOSSES`):
 *
 * - `focal`: the sigmoid focal loss (Lin et al. 2017, alpha 0.25, gamma 2) on every anchor and class;
 * - `hard-negatives`: SSD's hard negative mining (Liu et al. 2016): plain sigmoid cross-entropy on
 *   the positive anchors and, per image, on the `ratio` x positives negative anchors of highest
 *   loss (at least `minNegatives`); the other negatives are left out.
 */
export interface FocalOptions {
  alpha: number;
  gamma: number;
}

export const DEFAULT_FOCAL: FocalOptions = { alpha: 0.25, gamma: 2 };

export interface HardNegativeOptions {
  /** Negatives kept per positive anchor of the image (SSD: 3). */
  ratio: number;
  /** Negatives kept in an image whatever its positives (so images without objects still train). */
  minNegatives: number;
}

// As the TF Object Detection API's SSD configs: max_negatives_per_positive 3, min_negatives_per_image 3.
export const DEFAULT_HARD_NEGATIVES: HardNegativeOptions = { ratio: 3, minNegatives: 3 };

/** The classification loss when none is named. */
export const DEFAULT_CLASS_LOSS = 'focal';

export interface SsdLossOptions {
  /** A registered classification loss (default DEFAULT_CLASS_LOSS). */
  classLoss?: string;
  focal?: FocalOptions;
  hardNegatives?: HardNegativeOptions;
}

export interface SsdTargets {
  /** Encoded boxes [batch, anchors, 4] (zeros at background anchors). */
  boxes: tf.Tensor3D;
  /** One-hot classes [batch, anchors, classes] (all zeros at background anchors). */
  classes: tf.Tensor3D;
  /** 1 at positive anchors [batch, anchors]. */
  positive: tf.Tensor2D;
}

/** The summed classification loss of a batch (not yet divided by the positives). */
type ClassLoss = (logits: tf.Tensor3D, t: SsdTargets, o: SsdLossOptions) => tf.Scalar;

/** Stable sigmoid cross-entropy per anchor and class: max(x, 0) - x y + log(1 + exp(-|x|)). */
function sigmoidCrossEntropy(logits: tf.Tensor3D, y: tf.Tensor3D): tf.Tensor3D {
  return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
}

const focalLoss: ClassLoss = (logits, t, o) => {
  const { alpha, gamma } = o.focal ?? DEFAULT_FOCAL;
  const y = t.classes;
  const p = tf.sigmoid(logits);
  const pt = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), tf.sub(1, y)));
  const alphaT = tf.add(tf.mul(alpha, y), tf.mul(1 - alpha, tf.sub(1, y)));
  return tf.sum(tf.mul(tf.mul(alphaT, tf.pow(tf.sub(1, pt), gamma)), sigmoidCrossEntropy(logits, y))) as tf.Scalar;
};

/**
 * Which anchors the mined loss counts: every positive and, per image, the highest-loss negatives
 * (`ratio` per positive, at least `minNegatives`, ties broken by anchor order). A constant mask:
 * the selection itself takes no gradient, as in SSD.
 */
export function hardNegativeMask(anchorLoss: Float32Array, positive: Float32Array, anchors: number, o: HardNegativeOptions): Float32Array {
  const mask = new Float32Array(positive.length);
  for (let start = 0; start < positive.length; start += anchors) {
    const negatives: number[] = [];
    let positives = 0;
    for (let a = start; a < start + anchors; a++) {
      if (positive[a] > 0) {
        mask[a] = 1;
        positives++;
      } else negatives.push(a);
    }
    negatives.sort((i, j) => anchorLoss[j] - anchorLoss[i] || i - j);
    const keep = Math.min(negatives.length, Math.max(o.minNegatives, Math.round(o.ratio * positives)));
    for (let k = 0; k < keep; k++) mask[negatives[k]] = 1;
  }
  return mask;
}

const hardNegativeLoss: ClassLoss = (logits, t, o) => {
  const options = o.hardNegatives ?? DEFAULT_HARD_NEGATIVES;
  const [batch, anchors] = t.positive.shape;
  const perAnchor = tf.sum(sigmoidCrossEntropy(logits, t.classes), 2) as tf.Tensor2D;
  const mask = hardNegativeMask(perAnchor.dataSync() as Float32Array, t.positive.dataSync() as Float32Array, anchors, options);
  return tf.sum(tf.mul(perAnchor, tf.tensor2d(mask, [batch, anchors]))) as tf.Scalar;
};

export const SSD_CLASS_LOSSES: Readonly<Record<string, ClassLoss>> = { focal: focalLoss, 'hard-negatives': hardNegativeLoss };

/** The name of the classification loss a setting uses. */
export function classLossName(o: SsdLossOptions = {}): string {
  return o.classLoss ?? DEFAULT_CLASS_LOSS;
}

/** Checks a loss setting before long work starts. */
export function checkSsdLoss(o: SsdLossOptions = {}): void {
  const name = classLossName(o);
  if (!Object.hasOwn(SSD_CLASS_LOSSES, name)) throw new KilnError(`unknown detection loss '${name}' (known: ${Object.keys(SSD_CLASS_LOSSES).join(', ')})`);
  if (o.focal) check(o.focal.alpha >= 0 && o.focal.alpha <= 1 && o.focal.gamma >= 0, `focal loss needs alpha in [0, 1] and gamma >= 0 (got ${o.focal.alpha}, ${o.focal.gamma})`);
  if (o.hardNegatives) {
    const { ratio, minNegatives } = o.hardNegatives;
    check(ratio > 0 && Number.isInteger(minNegatives) && minNegatives >= 0, `hard negative mining needs ratio > 0 and a whole minNegatives >= 0 (got ${ratio}, ${minNegatives})`);
  }
}

export function ssdLoss(raw: tf.Tensor3D, t: SsdTargets, o: SsdLossOptions = {}): { total: tf.Scalar; box: tf.Scalar; cls: tf.Scalar } {
  checkSsdLoss(o);
  return tf.tidy(() => {
    const classes = t.classes.shape[2];
    const [reg, logits] = tf.split(raw, [4, classes], 2) as [tf.Tensor3D, tf.Tensor3D];
    const norm = tf.maximum(tf.sum(t.positive), 1);
    // Huber with delta 1: 0.5 d^2 inside [-1, 1], |d| - 0.5 outside.
    const a = tf.abs(tf.sub(reg, t.boxes));
    const q = tf.minimum(a, 1);
    const huber = tf.add(tf.mul(0.5, tf.square(q)), tf.sub(a, q));
    const box = tf.div(tf.sum(tf.mul(tf.sum(huber, 2), t.positive)), norm) as tf.Scalar;
    const cls = tf.div(SSD_CLASS_LOSSES[classLossName(o)](logits, t, o), norm) as tf.Scalar;
    return { total: tf.add(box, cls) as tf.Scalar, box, cls };
  });
}
