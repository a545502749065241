import { tf } from '../backend/index.js';
import type { Classifier } from './attacks.js';

/** APGD's losses and their gradients, shared by its Linf/L2 (apgd.ts) and L1 (apgd-l1.ts) steps. */

export type ApgdLoss = 'ce' | 'dlr' | 'dlr-targeted';

/** Per-example loss to maximise, shape [n]. */
function perExampleLoss(loss: ApgdLoss, logits: tf.Tensor2D, y: tf.Tensor1D, target?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const own = logits.mul(tf.oneHot(y, classes)).sum(1);
    // DLR needs 3 classes and targeted DLR 4 (they divide by z_pi1 - z_pi3 or - z_pi4): with fewer,
    // use cross-entropy, untargeted or toward the target (AutoAttack's 'ce' and 'ce-targeted').
    if (loss === 'ce' || (loss === 'dlr' && classes < 3)) return own.neg().add(tf.logSumExp(logits, 1)) as tf.Tensor1D;
    if (loss === 'dlr-targeted' && classes < 4) return logits.mul(tf.oneHot(target!, classes)).sum(1).sub(tf.logSumExp(logits, 1)) as tf.Tensor1D;
    // The k-th largest logit, differentiable in its value (argMax and oneHot pass no gradient; topk has none in tfjs).
    const ranked: tf.Tensor[] = [];
    let rest: tf.Tensor = logits;
    for (let k = 0; k < Math.min(4, classes); k++) {
      const hot = tf.oneHot(rest.argMax(1), classes);
      ranked.push(logits.mul(hot).sum(1));
      rest = rest.sub(hot.mul(1e9));
    }
    const kth = (k: number) => ranked[k];
    if (loss === 'dlr') {
      // -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)
      const other = logits.sub(tf.oneHot(y, classes).mul(1e9)).max(1);
      return own.sub(other).neg().div(kth(0).sub(kth(2)).add(1e-12)) as tf.Tensor1D;
    }
    // Targeted DLR: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)
    const toward = logits.mul(tf.oneHot(target!, classes)).sum(1);
    return own.sub(toward).neg().div(kth(0).sub(kth(2).add(kth(3)).mul(0.5)).add(1e-12)) as tf.Tensor1D;
  });
}

export interface RunState {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  target?: tf.Tensor1D;
  /** Gradients averaged per step: Expectation over Transformation for randomized models (1: plain). */
  eot: number;
}

export function lossAndGrad(model: Classifier, loss: ApgdLoss, s: RunState, at: tf.Tensor4D): { loss: tf.Tensor1D; grad: tf.Tensor4D; logits: tf.Tensor2D } {
  return tf.tidy(() => {
    const gradOf = tf.grad((inp: tf.Tensor) => perExampleLoss(loss, model(inp as tf.Tensor4D), s.y, s.target).sum() as tf.Scalar);
    let grad = gradOf(at);
    for (let e = 1; e < s.eot; e++) grad = grad.add(gradOf(at));
    const logits = model(at);
    return { loss: perExampleLoss(loss, logits, s.y, s.target), grad: grad.div(s.eot) as tf.Tensor4D, logits };
  });
}

