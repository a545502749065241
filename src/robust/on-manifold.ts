import { tf } from '../backend/index.js';
import { check } from '../core/index.js';
import { EPS_OPTION, SEED_OPTION, type Attack, type AttackResult, type Classifier, type ManifoldContext, l2Norms, marginLoss, recordSuccesses, selectRows } from './attacks.js';
import { checkEps } from './pgd.js';

/**
 * PGD on the data manifold (in the spirit of Stutz et al. 2019): gradient steps on the latent z
 * of a known renderer, so every iterate is a rendered image. The budget is the same as off the
 * manifold, in image space: ||render(z') - x||_2 <= eps. A latent step that would leave the ball is
 * scaled back by bisection on its length (the constraint holds at length 0, the previous iterate).
 *
 * With `trueLabels`, an example counts as fooled when the model's prediction differs from the true
 * label of the current latent, and the attack climbs the margin against that label (recomputed each
 * step): climbing the margin against the original label would reward walking across the true
 * boundary, where the model becoming "wrong about y" is no error at all. Restarts after the first
 * begin at a random feasible latent near z, so the attack is not stuck in one local optimum.
 */
export const onManifoldPgd: Attack = {
  name: 'on-manifold',
  norm: 'l2',
  needsManifold: true,
  options: [
    { ...EPS_OPTION('L2'), description: 'L2 radius in image space (required)' },
    { name: 'steps', type: 'integer', default: 40, min: 1, description: 'iterations per restart' },
    { name: 'stepSize', type: 'number', default: 0.05, min: 0, description: 'L2 length of a latent step' },
    { name: 'restarts', type: 'integer', default: 1, min: 1, description: 'runs, the first from z, others from random starts' },
    SEED_OPTION,
  ],
  run(model, x, y, opts) {
    checkEps(opts.eps);
    check(opts.manifold, "the 'on-manifold' attack needs a latent model of the data (only the excusable experiment has one)");
    const steps = opts.steps ?? 40;
    check(Number.isInteger(steps) && steps >= 1, `attack steps must be a positive integer (got ${steps})`);
    const restarts = opts.restarts ?? 1;
    check(Number.isInteger(restarts) && restarts >= 1, `attack restarts must be a positive integer (got ${restarts})`);
    const stepSize = opts.stepSize ?? 0.05;
    check(stepSize >= 0, `attack step size must be >= 0 (got ${stepSize})`);
    const m = opts.manifold;
    let out = latentPgd(model, x, y, m, opts.eps, steps, stepSize, m.z.clone());
    for (let r = 1; r < restarts && opts.eps > 0; r++) {
      const start = randomStart(x, m, opts.eps, stepSize * steps * 0.25, (opts.seed ?? 0) + r);
      const next = latentPgd(model, x, y, m, opts.eps, steps, stepSize, start);
      // Keep the earlier result where it already fools the model, else the new one.
      const keep = isFooled(model, m, y, out.z!);
      const z = selectRows(keep, out.z!, next.z!);
      tf.dispose([keep, out.x, out.z!, next.x, next.z!]);
      out = { x: m.render(z), z };
    }
    return out;
  },
};

const BISECTIONS = 6;

function isFooled(model: Classifier, m: ManifoldContext, y: tf.Tensor1D, z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.notEqual(model(m.render(z)).argMax(1), labelsAt(m, y, z)).toFloat() as tf.Tensor1D);
}

/** The label an on-manifold point should get: its own true label when known, else the original one. */
function labelsAt(m: ManifoldContext, y: tf.Tensor1D, z: tf.Tensor2D): tf.Tensor1D {
  return m.trueLabels ? tf.tensor1d(m.trueLabels(z.dataSync() as Float32Array), 'int32') : y.clone();
}

/**
 * Moves each z along `step` by the largest fraction in [0, 1] (to 1/2^BISECTIONS) whose rendering
 * stays within eps of x, after projecting onto the latent support.
 */
function feasibleMove(x: tf.Tensor4D, m: ManifoldContext, eps: number, z: tf.Tensor2D, step: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const project = m.project ?? ((t: tf.Tensor2D) => t);
    const at = (t: tf.Tensor) => project(z.add(step.mul(t)) as tf.Tensor2D);
    const inBall = (t: tf.Tensor) =>
      l2Norms(m.render(at(t)).sub(x)).reshape([-1, 1]).lessEqual(eps * (1 + 1e-5));
    let lo: tf.Tensor = tf.zeros([z.shape[0], 1]);
    let hi: tf.Tensor = tf.ones([z.shape[0], 1]);
    lo = tf.where(inBall(hi), hi, lo);
    for (let b = 0; b < BISECTIONS; b++) {
      const mid = lo.add(hi).div(2);
      const ok = inBall(mid);
      lo = tf.where(ok, mid, lo);
      hi = tf.where(ok, hi, mid);
    }
    return at(lo);
  });
}

/** z moved in a random latent direction by up to `radius`, kept feasible. */
function randomStart(x: tf.Tensor4D, m: ManifoldContext, eps: number, radius: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const dir = tf.randomNormal(m.z.shape, 0, 1, 'float32', seed);
    const length = tf.randomUniform([m.z.shape[0], 1], 0, radius, 'float32', seed + 1);
    const step = dir.div(tf.sqrt(dir.square().sum(1, true))).mul(length) as tf.Tensor2D;
    return feasibleMove(x, m, eps, m.z, step);
  });
}

function latentPgd(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, m: ManifoldContext, eps: number, steps: number,
  stepSize: number, start: tf.Tensor2D): AttackResult {
  let z = start;
  let best = z.clone();
  let found = isFooled(model, m, y, z);
  for (let i = 0; i < steps && eps > 0; i++) {
    const next = tf.tidy(() => {
      const labels = labelsAt(m, y, z);
      const g = tf.grad((t: tf.Tensor) => marginLoss(model(m.render(t as tf.Tensor2D)), labels))(z) as tf.Tensor2D;
      const step = g.div(tf.sqrt(g.square().sum(1, true).add(1e-24))).mul(stepSize) as tf.Tensor2D;
      return feasibleMove(x, m, eps, z, step);
    });
    z.dispose();
    z = next;
    ({ best, found } = recordSuccesses(best, found, z, isFooled(model, m, y, z)));
  }
  const zOut = selectRows(found, best, z);
  tf.dispose([z, best, found]);
  return { x: m.render(zOut), z: zOut };
}
