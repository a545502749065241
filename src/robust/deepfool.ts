import { tf } from '../backend/index.js';
import { check } from '../core/index.js';
import { EPS_OPTION, type Attack, type Classifier, projectL2 } from './attacks.js';
import { checkEps } from './pgd.js';

/**
 * DeepFool under L2 (Moosavi-Dezfooli et al. 2016): linearize the model around the current point,
 * step to the nearest linearized class boundary, repeat until the label flips. DeepFool looks for a
 * minimal perturbation; like Foolbox, Kiln then clips it to the eps ball so results compare with
 * PGD at the same budget.
 */
export const deepfoolL2: Attack = {
  name: 'deepfool-l2',
  norm: 'l2',
  needsManifold: false,
  options: [
    { ...EPS_OPTION('L2'), description: 'L2 radius the final perturbation is clipped to (required)' },
    { name: 'steps', type: 'integer', default: 50, min: 1, description: 'iterations' },
    { name: 'overshoot', type: 'number', default: 0.02, min: 0, description: 'push past the boundary by this factor' },
  ],
  run(model, x, y, opts) {
    checkEps(opts.eps);
    const steps = opts.steps ?? 50;
    check(Number.isInteger(steps) && steps >= 1, `attack steps must be a positive integer (got ${steps})`);
    const overshoot = opts.overshoot ?? 0.02;
    let total = tf.zerosLike(x);
    for (let i = 0; i < steps; i++) {
      const adv = tf.tidy(() => tf.clipByValue(x.add(total.mul(1 + overshoot)), 0, 1) as tf.Tensor4D);
      const active = tf.tidy(() => tf.equal(model(adv).argMax(1), y).toFloat() as tf.Tensor1D);
      const count = active.sum();
      const done = count.dataSync()[0] === 0;
      count.dispose();
      if (!done) {
        const next = tf.tidy(() => total.add(deepfoolStep(model, adv, y).mul(active.reshape([-1, 1, 1, 1]))));
        total.dispose();
        total = next as tf.Tensor4D;
      }
      tf.dispose([adv, active]);
      if (done) break;
    }
    const out = tf.tidy(() => tf.clipByValue(x.add(projectL2(total.mul(1 + overshoot), opts.eps)), 0, 1) as tf.Tensor4D);
    total.dispose();
    return { x: out };
  },
};

/** One DeepFool step for every example: the move to the nearest linearized boundary. */
function deepfoolStep(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  const logits = model(x);
  const classes = logits.shape[1];
  const onehotY = tf.oneHot(y, classes);
  const fy = logits.mul(onehotY).sum(1); // [n]
  const gy = tf.grad((inp: tf.Tensor) => model(inp as tf.Tensor4D).mul(onehotY).sum())(x);
  let bestRatio: tf.Tensor = tf.fill([x.shape[0]], Infinity);
  let bestStep: tf.Tensor = tf.zerosLike(x);
  for (let k = 0; k < classes; k++) {
    const gk = tf.grad((inp: tf.Tensor) => model(inp as tf.Tensor4D).slice([0, k], [-1, 1]).sum())(x);
    const w = gk.sub(gy);
    const f = logits.slice([0, k], [-1, 1]).reshape([-1]).sub(fy); // < 0 while y wins
    const wNorm = tf.sqrt(w.square().sum([1, 2, 3]).add(1e-24));
    // Distance to the linearized boundary between y and k (infinite for k = y).
    const ratio = tf.where(tf.equal(y, k), tf.fill([x.shape[0]], Infinity), f.abs().div(wNorm));
    const step = w.mul(f.abs().add(1e-4).div(wNorm.square()).reshape([-1, 1, 1, 1]));
    const better = ratio.less(bestRatio);
    bestStep = tf.where(better.reshape([-1, 1, 1, 1]), step, bestStep);
    bestRatio = tf.where(better, ratio, bestRatio);
  }
  return bestStep as tf.Tensor4D;
}
