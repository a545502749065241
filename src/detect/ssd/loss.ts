import { tf } from '../../backend/index.js';

/**
 * SSDLite's training loss on the heads' raw output `[batch, anchors, 4 + classes]`: smooth-L1
 * (Huber, delta 1) on the box regression of positive anchors plus the sigmoid focal loss (Lin et
 * al. 2017, alpha 0.25, gamma 2) on every anchor and class, both summed and divided by the number
 * of positive anchors in the batch (at least 1), as in RetinaNet and the TF Object Detection API.
 */
export interface FocalOptions {
  alpha: number;
  gamma: number;
}

export const DEFAULT_FOCAL: FocalOptions = { alpha: 0.25, gamma: 2 };

export interface SsdTargets {
  /** Encoded boxes [batch, anchors, 4] (zeros at background anchors). */
  boxes: tf.Tensor3D;
  /** One-hot classes [batch, anchors, classes] (all zeros at background anchors). */
  classes: tf.Tensor3D;
  /** 1 at positive anchors [batch, anchors]. */
  positive: tf.Tensor2D;
}

export function ssdLoss(raw: tf.Tensor3D, t: SsdTargets, focal: FocalOptions = DEFAULT_FOCAL): { total: tf.Scalar; box: tf.Scalar; cls: tf.Scalar } {
  return tf.tidy(() => {
    const classes = t.classes.shape[2];
    const [reg, logits] = tf.split(raw, [4, classes], 2);
    const norm = tf.maximum(tf.sum(t.positive), 1);
    // Huber with delta 1: 0.5 d^2 inside [-1, 1], |d| - 0.5 outside.
    const a = tf.abs(tf.sub(reg, t.boxes));
    const q = tf.minimum(a, 1);
    const huber = tf.add(tf.mul(0.5, tf.square(q)), tf.sub(a, q));
    const box = tf.div(tf.sum(tf.mul(tf.sum(huber, 2), t.positive)), norm) as tf.Scalar;
    const y = t.classes;
    // Stable sigmoid cross-entropy: max(x, 0) - x y + log(1 + exp(-|x|)).
    const ce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const p = tf.sigmoid(logits);
    const pt = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), tf.sub(1, y)));
    const alphaT = tf.add(tf.mul(focal.alpha, y), tf.mul(1 - focal.alpha, tf.sub(1, y)));
    const cls = tf.div(tf.sum(tf.mul(tf.mul(alphaT, tf.pow(tf.sub(1, pt), focal.gamma)), ce)), norm) as tf.Scalar;
    return { total: tf.add(box, cls) as tf.Scalar, box, cls };
  });
}
