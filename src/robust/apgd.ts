import { tf } from '../backend/index.js';
import { check, type OptionSpec } from '../core/index.js';
import { EPS_OPTION, NORM_NAMES, SEED_OPTION, attackRobustRows, l2Norms, projectL2, recordSuccesses, selectRows, type Attack, type AttackOptions, type Classifier, type ThreatNorm } from './attacks.js';
import { checkEps } from './pgd.js';
import { apgdL1Run } from './apgd-l1.js';
import { lossAndGrad, type ApgdLoss, type RunState } from './apgd-loss.js';

/**
 * APGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks"), as in the reference code (fra31/auto-attack, apgd-attack.py):
 * step size 2*eps halved at checkpoints w_j = ceil(p_j N) (p_0 = 0, p_1 = 0.22, p_{j+1} = p_j +
 * max(p_j - p_{j-1} - 0.03, 0.06)) when fewer than 75% of the steps since the last checkpoint raised
 * the loss, or when the step was not halved last time and the best loss has not moved; then the
 * iterate restarts from the best point. Momentum 0.75. Losses: cross-entropy, DLR, targeted DLR.
 * In L1 the step, its schedule and the projection are L1-APGD's (apgd-l1.ts).
 */

export type { ApgdLoss };

/** Projects `z` onto the eps ball around x in the norm, then onto [0, 1] (the reference's order). */
function project(norm: Exclude<ThreatNorm, 'l1'>, x: tf.Tensor4D, z: tf.Tensor4D, eps: number): tf.Tensor4D {
  return tf.tidy(() => {
    if (norm === 'linf') return tf.clipByValue(tf.minimum(tf.maximum(z, x.sub(eps)), x.add(eps)), 0, 1) as tf.Tensor4D;
    return tf.clipByValue(x.add(projectL2(z.sub(x) as tf.Tensor4D, eps)), 0, 1) as tf.Tensor4D;
  });
}

/**
 * Checkpoints of the step-size schedule, in the reference's integer form: the gap between checks
 * starts at floor(0.22 N) and shrinks by floor(0.03 N) down to floor(0.06 N) (each at least 1).
 */
export function apgdCheckpoints(iterations: number): number[] {
  const shrink = Math.max(Math.floor(0.03 * iterations), 1);
  const least = Math.max(Math.floor(0.06 * iterations), 1);
  const out: number[] = [];
  for (let gap = Math.max(Math.floor(0.22 * iterations), 1), at = gap; at <= iterations; gap = Math.max(gap - shrink, least), at += gap) out.push(at);
  return out;
}

/** One APGD run from a random start; returns per example the first point that fooled the model, else the start. */
function apgdRun(model: Classifier, loss: ApgdLoss, norm: Exclude<ThreatNorm, 'l1'>, s: RunState, eps: number, iterations: number, seed: number): tf.Tensor4D {
  const n = s.x.shape[0];
  const start = tf.tidy(() => {
    if (norm === 'linf') {
      const t = tf.randomUniform(s.x.shape, -1, 1, 'float32', seed);
      return tf.clipByValue(s.x.add(t.div(t.abs().max([1, 2, 3], true)).mul(eps)), 0, 1) as tf.Tensor4D;
    }
    const t = tf.randomNormal(s.x.shape, 0, 1, 'float32', seed);
    return tf.clipByValue(s.x.add(t.div(l2Norms(t)).mul(eps)), 0, 1) as tf.Tensor4D;
  });
  const direction = (g: tf.Tensor4D) => tf.tidy(() => (norm === 'linf' ? tf.sign(g) : g.div(l2Norms(g))) as tf.Tensor4D);
  const checks = new Set(apgdCheckpoints(iterations));

  let xAdv = start;
  let xOld = start.clone();
  let { loss: current, grad, logits } = lossAndGrad(model, loss, s, xAdv);
  let best = { bestX: xAdv.clone(), bestGrad: grad.clone(), bestLoss: current.clone() };
  let adv = { best: start.clone(), found: tf.tidy(() => tf.notEqual(logits.argMax(1), s.y).toFloat() as tf.Tensor1D) };
  logits.dispose();
  let step = tf.fill([n, 1, 1, 1], 2 * eps) as tf.Tensor4D;
  // Loss history since the last checkpoint (the reference compares each step with the one before,
  // its slot before the first iteration holding 0).
  let history: Uint8Array[] = [];
  let previousLoss = new Float32Array(n);
  let bestAtLastCheck = best.bestLoss.dataSync().slice() as Float32Array;
  let reducedLastCheck = new Uint8Array(n);
  let lastCheck = 0;

  for (let i = 0; i < iterations; i++) {
    const momentum = i > 0 ? 0.75 : 1;
    const next = tf.tidy(() => {
      const z = project(norm, s.x, xAdv.add(direction(grad).mul(step)) as tf.Tensor4D, eps);
      return project(norm, s.x, xAdv.add(z.sub(xAdv).mul(momentum)).add(xAdv.sub(xOld).mul(1 - momentum)) as tf.Tensor4D, eps);
    });
    tf.dispose([xOld, grad]);
    xOld = xAdv;
    xAdv = next;
    current.dispose();
    ({ loss: current, grad, logits } = lossAndGrad(model, loss, s, xAdv));
    adv = recordSuccesses(adv.best, adv.found, xAdv, tf.tidy(() => tf.notEqual(logits.argMax(1), s.y).toFloat() as tf.Tensor1D));
    logits.dispose();

    const values = current.dataSync() as Float32Array;
    const improved = tf.tidy(() => tf.greater(current, best.bestLoss).toFloat() as tf.Tensor1D);
    const nextBest = {
      bestX: selectRows(improved, xAdv, best.bestX), bestGrad: selectRows(improved, grad, best.bestGrad),
      bestLoss: selectRows(improved, current, best.bestLoss),
    };
    tf.dispose([improved, best.bestX, best.bestGrad, best.bestLoss]);
    best = nextBest;
    history.push(Uint8Array.from(values, (v, j) => (v > previousLoss[j] ? 1 : 0)));
    previousLoss = values.slice();

    if (checks.has(i + 1) && i + 1 < iterations) {
      const span = i + 1 - lastCheck;
      const bestNow = best.bestLoss.dataSync() as Float32Array;
      const halve = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        const increases = history.reduce((a, h) => a + h[j], 0);
        const oscillating = increases <= span * 0.75;
        const stalled = reducedLastCheck[j] === 0 && bestAtLastCheck[j] >= bestNow[j];
        halve[j] = oscillating || stalled ? 1 : 0;
        reducedLastCheck[j] = halve[j];
      }
      bestAtLastCheck = bestNow.slice();
      history = [];
      lastCheck = i + 1;
      if (halve.some((h) => h === 1)) {
        const mask = tf.tensor1d(halve);
        const halvedStep = tf.tidy(() => step.mul(tf.scalar(1).sub(mask.reshape([-1, 1, 1, 1]).mul(0.5))) as tf.Tensor4D);
        const restarted = selectRows(mask, best.bestX, xAdv);
        const restartedGrad = selectRows(mask, best.bestGrad, grad);
        tf.dispose([step, xAdv, grad, mask]);
        step = halvedStep;
        xAdv = restarted;
        grad = restartedGrad;
      }
    }
  }
  const out = adv.best;
  tf.dispose([xAdv, xOld, grad, current, step, best.bestX, best.bestGrad, best.bestLoss, adv.found]);
  return out;
}

/** `restarts` runs, each on the examples the earlier ones left robust, keeping each example's first success. */
function withRestarts(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, start: tf.Tensor4D, restarts: number,
  run: (rows: tf.Tensor4D, labels: tf.Tensor1D, index: tf.Tensor1D, r: number) => tf.Tensor4D): tf.Tensor4D {
  let out = start.clone();
  for (let r = 0; r < restarts; r++) out = attackRobustRows(model, x, y, out, (rows, labels, index) => run(rows, labels, index, r));
  return out;
}

export interface ApgdOptions extends AttackOptions {
  /** apgd-t: the targets are the classes with the 2nd..(targets+1)-th largest clean logits. */
  targets?: number;
  /** Gradient samples averaged per step (EoT; AutoAttack's rand version: 20). */
  eot?: number;
}

/** APGD untargeted (CE or DLR loss) or targeted (DLR over the top `targets` classes). */
export function apgd(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: ApgdOptions, loss: ApgdLoss, norm: ThreatNorm): tf.Tensor4D {
  checkEps(opts.eps);
  const iterations = opts.steps ?? 100;
  const restarts = opts.restarts ?? 1;
  check(Number.isInteger(iterations) && iterations >= 1, `APGD steps must be a positive integer (got ${iterations})`);
  check(Number.isInteger(restarts) && restarts >= 1, `APGD restarts must be a positive integer (got ${restarts})`);
  const eot = opts.eot ?? 1;
  check(Number.isInteger(eot) && eot >= 1, `APGD eot must be a positive integer (got ${eot})`);
  const seed = opts.seed ?? 0;
  const classes = tf.tidy(() => model(x.slice([0, 0, 0, 0], [1, -1, -1, -1])).shape[1]);
  const single = (l: ApgdLoss, s: RunState, runSeed: number) =>
    (norm === 'l1' ? apgdL1Run(model, l, s, opts.eps, iterations, runSeed) : apgdRun(model, l, norm, s, opts.eps, iterations, runSeed));
  if (loss === 'ce' || loss === 'dlr') {
    return withRestarts(model, x, y, x, restarts, (rows, labels, _i, r) => single(loss, { x: rows, y: labels, eot }, seed + 1000 * r));
  }
  const targets = Math.min(opts.targets ?? 9, classes - 1);
  let out = x.clone();
  for (let t = 0; t < targets; t++) {
    const next = withRestarts(model, x, y, out, restarts, (clean, labels, _i, r) => {
      const target = tf.tidy(() => tf.topk(model(clean), t + 2).indices.slice([0, t + 1], [-1, 1]).reshape([-1]) as tf.Tensor1D);
      const found = single('dlr-targeted', { x: clean, y: labels, target, eot }, seed + 1000 * r + t);
      target.dispose();
      return found;
    });
    out.dispose();
    out = next;
  }
  return out;
}

const apgdOptions = (norm: string, extra: OptionSpec[] = []): OptionSpec[] => [
  EPS_OPTION(norm),
  { name: 'steps', type: 'integer', default: 100, min: 1, description: 'iterations per run (AutoAttack: 100)' },
  { name: 'restarts', type: 'integer', default: 1, min: 1, description: 'runs from new random starts on the points still robust' },
  ...extra,
  { name: 'eot', type: 'integer', default: 1, min: 1, description: 'gradients averaged per step, for randomized models (AutoAttack rand: 20)' },
  SEED_OPTION,
];
const TARGETS: OptionSpec = { name: 'targets', type: 'integer', default: 9, min: 1, description: 'target classes: the 2nd..(targets+1)-th largest clean logits' };

function apgdAttack(name: string, loss: ApgdLoss, norm: ThreatNorm): Attack {
  return {
    name, norm, needsManifold: false,
    options: apgdOptions(NORM_NAMES[norm], loss === 'dlr-targeted' ? [TARGETS] : []),
    run: (model, x, y, opts: ApgdOptions) => ({ x: apgd(model, x, y, opts, loss, norm) }),
  };
}

export const apgdCe = apgdAttack('apgd-ce', 'ce', 'linf');
export const apgdDlr = apgdAttack('apgd-dlr', 'dlr', 'linf');
export const apgdT = apgdAttack('apgd-t', 'dlr-targeted', 'linf');
export const apgdCeL2 = apgdAttack('apgd-ce-l2', 'ce', 'l2');
export const apgdDlrL2 = apgdAttack('apgd-dlr-l2', 'dlr', 'l2');
export const apgdTL2 = apgdAttack('apgd-t-l2', 'dlr-targeted', 'l2');
export const apgdCeL1 = apgdAttack('apgd-ce-l1', 'ce', 'l1');
export const apgdDlrL1 = apgdAttack('apgd-dlr-l1', 'dlr', 'l1');
export const apgdTL1 = apgdAttack('apgd-t-l1', 'dlr-targeted', 'l1');
