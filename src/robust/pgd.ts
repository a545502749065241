import { tf } from '../backend/index.js';
import { check } from '../core/index.js';
import { EPS_OPTION, SEED_OPTION, type Attack, type AttackOptions, keepFirstSuccess, l2Norms, lossGradient, projectL2 } from './attacks.js';
import type { OptionSpec } from '../core/index.js';

/** FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps. */
export const fgsm: Attack = {
  name: 'fgsm',
  norm: 'linf',
  needsManifold: false,
  options: [EPS_OPTION('Linf')],
  run(model, x, y, opts) {
    checkEps(opts.eps);
    return {
      x: tf.tidy(() => tf.clipByValue(x.add(tf.sign(lossGradient(model, x, y)).mul(opts.eps)), 0, 1) as tf.Tensor4D),
    };
  },
};

/** PGD under Linf (Madry et al. 2018): signed steps, projection onto the eps box and [0, 1]. */
export const pgdLinf: Attack = {
  name: 'pgd-linf',
  norm: 'linf',
  needsManifold: false,
  options: pgdOptions('Linf'),
  run(model, x, y, opts) {
    checkEps(opts.eps);
    const { steps, stepSize } = pgdSchedule(opts);
    const start = tf.tidy(() => {
      if (!(opts.randomStart ?? true) || opts.eps === 0) return x.clone();
      const noise = tf.randomUniform(x.shape, -opts.eps, opts.eps, 'float32', opts.seed ?? 0);
      return tf.clipByValue(x.add(noise), 0, 1) as tf.Tensor4D;
    });
    const out = keepFirstSuccess(model, y, start, steps, (cur) =>
      tf.tidy(() => {
        const moved = cur.add(tf.sign(lossGradient(model, cur, y)).mul(stepSize));
        const delta = tf.clipByValue(moved.sub(x), -opts.eps, opts.eps);
        return tf.clipByValue(x.add(delta), 0, 1) as tf.Tensor4D;
      }),
    );
    start.dispose();
    return { x: out };
  },
};

/** PGD under L2: steps along the normalized gradient, projection onto the eps ball and [0, 1]. */
export const pgdL2: Attack = {
  name: 'pgd-l2',
  norm: 'l2',
  needsManifold: false,
  options: pgdOptions('L2'),
  run(model, x, y, opts) {
    checkEps(opts.eps);
    const { steps, stepSize } = pgdSchedule(opts);
    const start = tf.tidy(() => {
      if (!(opts.randomStart ?? true) || opts.eps === 0) return x.clone();
      // A uniformly random direction with a radius uniform in [0, eps].
      const dir = tf.randomNormal(x.shape, 0, 1, 'float32', opts.seed ?? 0);
      const radius = tf.randomUniform([x.shape[0], 1, 1, 1], 0, opts.eps, 'float32', (opts.seed ?? 0) + 1);
      return tf.clipByValue(x.add(dir.div(l2Norms(dir)).mul(radius)), 0, 1) as tf.Tensor4D;
    });
    const out = keepFirstSuccess(model, y, start, steps, (cur) =>
      tf.tidy(() => {
        const g = lossGradient(model, cur, y);
        const moved = cur.add(g.div(l2Norms(g)).mul(stepSize));
        return tf.clipByValue(x.add(projectL2(moved.sub(x) as tf.Tensor4D, opts.eps)), 0, 1) as tf.Tensor4D;
      }),
    );
    start.dispose();
    return { x: out };
  },
};

export function checkEps(eps: number): void {
  check(Number.isFinite(eps) && eps >= 0, `attack epsilon must be a number >= 0 (got ${eps})`);
}

function pgdOptions(norm: string): OptionSpec[] {
  return [
    EPS_OPTION(norm),
    { name: 'steps', type: 'integer', default: 40, min: 1, description: 'iterations' },
    { name: 'stepSize', type: 'number', min: 0, description: 'per-step move (default 2.5 * eps / steps)' },
    { name: 'randomStart', type: 'boolean', default: true, description: 'start at a random point of the ball' },
    SEED_OPTION,
  ];
}

function pgdSchedule(opts: AttackOptions): { steps: number; stepSize: number } {
  const steps = opts.steps ?? 40;
  check(Number.isInteger(steps) && steps >= 1, `attack steps must be a positive integer (got ${steps})`);
  const stepSize = opts.stepSize ?? (2.5 * opts.eps) / steps;
  check(stepSize >= 0, `attack step size must be >= 0 (got ${stepSize})`);
  return { steps, stepSize };
}
