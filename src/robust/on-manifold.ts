import { tf } from '../backend/index.js';
import { check } from '../core/index.js';
import { type Attack, type AttackResult, type Classifier, type ManifoldContext, l2Norms, marginLoss, selectRows } from './attacks.js';
import { checkEps } from './pgd.js';

/**
 * PGD on the data manifold (in the spirit of Stutz et al. 2019): gradient steps on the latent z
 * of a known renderer, so every iterate is a rendered image. The budget is the same as off the
 * manifold, in image space: ||render(z') - x||_2 <= eps. A latent step that would leave the ball is
 * scaled back by bisection on its length (the constraint holds at length 0, the previous iterate).
 * An example counts as fooled when the model's prediction differs from the true label of the
 * current latent (when `trueLabels` is given) or from `y` otherwise.
 */
export const onManifoldPgd: Attack = {
  name: 'on-manifold',
  norm: 'l2',
  needsManifold: true,
  options: ['eps: L2 radius in image space (required)', 'steps: iterations (default 40)',
    'stepSize: L2 length of a latent step (default 0.05)', 'needs the latent z and renderer (the excusable experiment)'],
  run(model, x, y, opts) {
    checkEps(opts.eps);
    check(opts.manifold, "the 'on-manifold' attack needs a latent model of the data (only the excusable experiment has one)");
    const steps = opts.steps ?? 40;
    check(Number.isInteger(steps) && steps >= 1, `attack steps must be a positive integer (got ${steps})`);
    return latentPgd(model, x, y, opts.manifold, opts.eps, steps, opts.stepSize ?? 0.05);
  },
};

const BISECTIONS = 8;

function latentPgd(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, m: ManifoldContext, eps: number, steps: number,
  stepSize: number): AttackResult {
  const project = m.project ?? ((z: tf.Tensor2D) => z.clone());
  const inBall = (z: tf.Tensor2D) => tf.tidy(() => l2Norms(m.render(z).sub(x)).reshape([-1]).lessEqual(eps * (1 + 1e-5)).toFloat() as tf.Tensor1D);
  const isFooled = (z: tf.Tensor2D) => tf.tidy(() => {
    const labels = m.trueLabels ? tf.tensor1d(m.trueLabels(z.dataSync() as Float32Array), 'int32') : y;
    return tf.notEqual(model(m.render(z)).argMax(1), labels).toFloat() as tf.Tensor1D;
  });
  const loss = (z: tf.Tensor) => marginLoss(model(m.render(z as tf.Tensor2D)), y);

  let z = m.z.clone();
  let best = z.clone();
  let found = isFooled(z);
  for (let i = 0; i < steps && eps > 0; i++) {
    const next = tf.tidy(() => {
      const g = tf.grad(loss)(z) as tf.Tensor2D;
      const step = g.div(tf.sqrt(g.square().sum(1, true).add(1e-24))).mul(stepSize);
      // Bisection on the fraction t of the step: lo stays feasible, hi shrinks towards it.
      let lo: tf.Tensor = tf.zeros([z.shape[0], 1]);
      let hi: tf.Tensor = tf.ones([z.shape[0], 1]);
      const at = (t: tf.Tensor) => project(z.add(step.mul(t)) as tf.Tensor2D);
      const full = inBall(at(hi)).reshape([-1, 1]);
      lo = tf.where(full.cast('bool'), hi, lo);
      for (let b = 0; b < BISECTIONS; b++) {
        const mid = lo.add(hi).div(2);
        const ok = inBall(at(mid)).reshape([-1, 1]).cast('bool');
        lo = tf.where(ok, mid, lo);
        hi = tf.where(ok, hi, mid);
      }
      return at(lo);
    });
    z.dispose();
    z = next;
    const now = isFooled(z);
    const fresh = tf.tidy(() => now.mul(tf.scalar(1).sub(found)) as tf.Tensor1D);
    const nextBest = selectRows(fresh, z, best);
    const nextFound = tf.tidy(() => tf.maximum(found, now) as tf.Tensor1D);
    tf.dispose([best, found, now, fresh]);
    best = nextBest;
    found = nextFound;
  }
  const zOut = selectRows(found, best, z);
  tf.dispose([z, best, found]);
  return { x: m.render(zOut), z: zOut };
}
