import { tf } from '../backend/index.js';
import { lossAndGrad, type ApgdLoss, type RunState } from './apgd-loss.js';
import type { Classifier } from './attacks.js';
import { projectL1Box } from './l1-box-projection.js';

/**
 * L1-APGD (Croce & Hein 2021, "Mind the box: l1-APGD for sparse adversarial attacks on image
 * classifiers"), with the reference code's settings (fra31/auto-attack, autopgd_base.py, norm 'L1'
 * with use_largereps, as AutoAttack's L1 version runs it):
 * - the step moves the coordinates whose |gradient| is in the top `topk` fraction by step / k each
 *   (k of them, the sign of the gradient), then projects onto the L1 ball intersected with the box;
 *   no momentum;
 * - every max(floor(0.04 N), 1) iterations the sparsity of the best point sets the next topk
 *   (its L0 norm / 1.5); if that sparsity fell by more than 5% the step returns to eps and the
 *   iterate to the best point, else the step shrinks by 1.5, never under eps / 10;
 * - the budget starts large: ceil(0.3 N) iterations at 3 eps, ceil(0.3 N) at 2 eps, the rest at eps,
 *   each stage starting from the previous stage's best point projected onto the smaller ball, the
 *   first from a Gaussian point projected onto the 3 eps ball (with fewer than 3 iterations, one stage at eps).
 * Only the last stage (radius eps) can report adversarial examples.
 */

/** A batch as flat rows on the CPU. */
interface Rows {
  n: number;
  size: number;
}

const l0 = (x: Float32Array, z: Float32Array, at: number, size: number): number => {
  let count = 0;
  for (let i = at; i < at + size; i++) if (z[i] !== x[i]) count++;
  return count;
};

/** Row `r` of the flat batch `z` projected onto the L1 ball of radius eps around x and the box, written into `out`. */
function projectRow(x: Float32Array, z: Float32Array, r: number, size: number, eps: number, out: Float32Array): void {
  const from = r * size;
  const xr = x.subarray(from, from + size);
  const delta = new Float32Array(size);
  for (let i = 0; i < size; i++) delta[i] = z[from + i] - xr[i];
  const projected = projectL1Box(xr, delta, eps);
  for (let i = 0; i < size; i++) out[from + i] = xr[i] + projected[i];
}

/** x + the sparse sign step of `grad`, per row its top `topk` fraction of |grad| moved by step / count. */
function sparseStep(xAdv: Float32Array, grad: Float32Array, b: Rows, topk: Float64Array, step: Float64Array): Float32Array {
  const out = xAdv.slice();
  for (let r = 0; r < b.n; r++) {
    const from = r * b.size;
    const sorted = grad.slice(from, from + b.size).map(Math.abs).sort();
    const threshold = sorted[Math.min(Math.max(Math.floor((1 - topk[r]) * b.size), 0), b.size - 1)];
    let count = 0;
    for (let i = from; i < from + b.size; i++) if (grad[i] !== 0 && Math.abs(grad[i]) >= threshold) count++;
    const move = step[r] / (count + 1e-10);
    for (let i = from; i < from + b.size; i++) if (grad[i] !== 0 && Math.abs(grad[i]) >= threshold) out[i] += Math.sign(grad[i]) * move;
  }
  return out;
}

interface StageResult {
  /** The point of highest loss (where the next stage starts). */
  best: Float32Array;
  /** Per row, a point that fooled the model in this stage, if any. */
  adversarial: Float32Array;
  fooled: Uint8Array;
}

/** One L1-APGD run of `iterations` at radius eps from `init` (inside the ball). */
function stage(model: Classifier, loss: ApgdLoss, s: RunState, x: Float32Array, init: Float32Array, eps: number, iterations: number): StageResult {
  const shape = s.x.shape;
  const b: Rows = { n: shape[0], size: shape[1] * shape[2] * shape[3] };
  const evaluate = (at: Float32Array) => {
    const input = tf.tensor4d(at, shape);
    const r = lossAndGrad(model, loss, s, input);
    const wrong = tf.tidy(() => tf.notEqual(r.logits.argMax(1), s.y));
    const out = { loss: r.loss.dataSync().slice() as Float32Array, grad: r.grad.dataSync().slice() as Float32Array,
      wrong: Uint8Array.from(wrong.dataSync()) };
    tf.dispose([input, r.loss, r.grad, r.logits, wrong]);
    return out;
  };
  let xAdv: Float32Array = init.slice();
  let { loss: current, grad, wrong } = evaluate(xAdv);
  const best = xAdv.slice();
  const bestGrad = grad.slice();
  const bestLoss = current.slice();
  const adversarial = xAdv.slice();
  const fooled = wrong.slice();
  const step = new Float64Array(b.n).fill(eps);
  const topk = new Float64Array(b.n);
  const sparsityOld = new Float64Array(b.n);
  for (let r = 0; r < b.n; r++) {
    sparsityOld[r] = l0(x, xAdv, r * b.size, b.size);
    topk[r] = sparsityOld[r] / b.size / 1.5;
  }
  const every = Math.max(Math.floor(0.04 * iterations), 1);

  for (let i = 0; i < iterations; i++) {
    const moved = sparseStep(xAdv, grad, b, topk, step);
    for (let r = 0; r < b.n; r++) projectRow(x, moved, r, b.size, eps, moved);
    xAdv = moved;
    ({ loss: current, grad, wrong } = evaluate(xAdv));
    for (let r = 0; r < b.n; r++) {
      const row = r * b.size;
      if (wrong[r] && !fooled[r]) {
        fooled[r] = 1;
        adversarial.set(xAdv.subarray(row, row + b.size), row);
      }
      if (current[r] > bestLoss[r]) {
        bestLoss[r] = current[r];
        best.set(xAdv.subarray(row, row + b.size), row);
        bestGrad.set(grad.subarray(row, row + b.size), row);
      }
    }
    if ((i + 1) % every !== 0) continue;
    for (let r = 0; r < b.n; r++) {
      const row = r * b.size;
      const sparsity = l0(x, best, row, b.size);
      const sparser = sparsity / sparsityOld[r] < 0.95;
      topk[r] = sparsity / b.size / 1.5;
      step[r] = Math.min(Math.max(sparser ? eps : step[r] / 1.5, eps / 10), eps);
      sparsityOld[r] = sparsity;
      if (sparser) {
        xAdv.set(best.subarray(row, row + b.size), row);
        grad.set(bestGrad.subarray(row, row + b.size), row);
      }
    }
  }
  return { best, adversarial, fooled };
}

/**
 * One L1-APGD run on the batch from a seeded random start; returns per example a point within eps in L1
 * and in [0, 1] that fooled the model if the run found one, else its point of highest loss.
 */
export function apgdL1Run(model: Classifier, loss: ApgdLoss, s: RunState, eps: number, iterations: number, seed: number): tf.Tensor4D {
  const shape = s.x.shape;
  const size = shape[1] * shape[2] * shape[3];
  const x = s.x.dataSync() as Float32Array;
  const noise = tf.tidy(() => s.x.add(tf.randomNormal(shape, 0, 1, 'float32', seed)));
  let point = noise.dataSync().slice() as Float32Array;
  noise.dispose();
  const first = Math.ceil(0.3 * iterations);
  const plan = iterations >= 3
    ? [[3 * eps, first], [2 * eps, first], [eps, iterations - 2 * first]]
    : [[eps, iterations]];
  let last: StageResult | undefined;
  for (const [radius, steps] of plan) {
    for (let r = 0; r < shape[0]; r++) projectRow(x, point, r, size, radius, point);
    last = stage(model, loss, s, x, point, radius, steps);
    point = last.best;
  }
  const { adversarial, fooled, best } = last!;
  for (let r = 0; r < shape[0]; r++) if (!fooled[r]) adversarial.set(best.subarray(r * size, (r + 1) * size), r * size);
  return tf.tensor4d(adversarial, shape);
}
