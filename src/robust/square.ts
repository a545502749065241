import { tf } from '../backend/index.js';
import { check, createRng } from '../core/index.js';
import { EPS_OPTION, SEED_OPTION, type Attack, type Classifier } from './attacks.js';
import { checkEps } from './pgd.js';

/**
 * Square attack, Linf (Andriushchenko et al. 2020), as in the reference code (fra31/auto-attack,
 * square.py, margin loss): score-based, no gradients. It starts from vertical stripes of +-eps and
 * then, per query, sets one random square window (the same for the batch, side shrinking on the
 * schedule of p_init = 0.8) to +-eps per channel, keeping the change for an example when its margin
 * (own logit minus the best other) drops; examples stop once misclassified.
 */

/** Fraction p of the image the square covers at query `it` (the reference schedule, not rescaled). */
export function squareFraction(pInit: number, it: number): number {
  const halvings = [[10, 0], [50, 1], [200, 2], [500, 3], [1000, 4], [2000, 5], [4000, 6], [6000, 7], [8000, 8]] as const;
  let k = 9;
  for (const [until, h] of halvings) if (it <= until) { k = h; break; }
  return pInit / 2 ** k;
}

/** Own logit minus the largest other, per example (negative once misclassified). */
function margins(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): Float32Array {
  const m = tf.tidy(() => {
    const logits = model(x);
    const onehot = tf.oneHot(y, logits.shape[1]);
    return logits.mul(onehot).sum(1).sub(logits.sub(onehot.mul(1e9)).max(1));
  });
  const values = m.dataSync() as Float32Array;
  m.dispose();
  return values;
}

export interface SquareOptions {
  eps: number;
  queries?: number;
  pInit?: number;
  seed?: number;
}

export function squareLinf(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: SquareOptions): tf.Tensor4D {
  const { queries, pInit, rng } = squareSettings(opts);
  const [n, h, w, c] = x.shape;
  const eps = opts.eps;
  const sign = () => (rng.next() < 0.5 ? -1 : 1);
  const xs = x.dataSync() as Float32Array;
  const size = h * w * c;
  // Vertical stripes: one sign per (example, column, channel).
  const best = new Float32Array(xs.length);
  for (let i = 0; i < n; i++) {
    for (let col = 0; col < w; col++) {
      for (let ch = 0; ch < c; ch++) {
        const s = sign() * eps;
        for (let row = 0; row < h; row++) {
          const at = i * size + (row * w + col) * c + ch;
          best[at] = Math.min(1, Math.max(0, xs[at] + s));
        }
      }
    }
  }
  return squareSearch(model, x, y, best, queries, (it, open, candidate) => {
    const p = squareFraction(pInit, it);
    const side = Math.min(Math.max(Math.round(Math.sqrt(p * h * w)), 1), Math.min(h, w) - 1);
    const vh = Math.floor(rng.next() * (h - side + 1));
    const vw = Math.floor(rng.next() * (w - side + 1));
    const signs = Array.from({ length: c }, () => 2 * eps * sign());
    open.forEach((i, k) => {
      for (let row = vh; row < vh + side; row++) {
        for (let col = vw; col < vw + side; col++) {
          for (let ch = 0; ch < c; ch++) {
            const at = (row * w + col) * c + ch;
            const clean = xs[i * size + at];
            const moved = candidate[k * size + at] + signs[ch];
            candidate[k * size + at] = Math.min(1, Math.max(0, Math.min(clean + eps, Math.max(clean - eps, moved))));
          }
        }
      }
    });
  });
}

/** Checked query budget and square schedule start, and the attack's random stream. */
export function squareSettings(opts: SquareOptions): { queries: number; pInit: number; rng: ReturnType<typeof createRng> } {
  checkEps(opts.eps);
  const queries = opts.queries ?? 5000;
  const pInit = opts.pInit ?? 0.8;
  check(Number.isInteger(queries) && queries >= 1, `square queries must be a positive integer (got ${queries})`);
  check(pInit > 0 && pInit <= 1, `square pInit must be in (0, 1] (got ${pInit})`);
  return { queries, pInit, rng: createRng(opts.seed ?? 0) };
}

/**
 * The random search both norms share: per query, `propose` rewrites `candidate` (the current best
 * images of the `open` examples, still unfooled, one after another) into new candidates; each
 * example keeps its candidate when the margin drops or the model is fooled. `best` (the starting
 * images, flat) is updated in place and returned as a tensor.
 */
export function squareSearch(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, best: Float32Array, queries: number,
  propose: (it: number, open: number[], candidate: Float32Array) => void): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  const size = h * w * c;
  const ys = y.dataSync();
  const initial = tf.tensor4d(best, x.shape);
  const margin = margins(model, initial, y);
  initial.dispose();
  for (let it = 0; it < queries; it++) {
    const open = [...margin.keys()].filter((i) => margin[i] > 0);
    if (open.length === 0) break;
    const candidate = new Float32Array(open.length * size);
    open.forEach((i, k) => candidate.set(best.subarray(i * size, (i + 1) * size), k * size));
    propose(it, open, candidate);
    const labels = tf.tensor1d(open.map((i) => ys[i]), 'int32');
    const batch = tf.tensor4d(candidate, [open.length, h, w, c]);
    const m = margins(model, batch, labels);
    tf.dispose([labels, batch]);
    open.forEach((i, k) => {
      if (m[k] < margin[i]) {
        margin[i] = m[k];
        best.set(candidate.subarray(k * size, (k + 1) * size), i * size);
      }
    });
  }
  return tf.tensor4d(best, x.shape);
}

export const square: Attack = {
  name: 'square',
  norm: 'linf',
  needsManifold: false,
  options: [
    EPS_OPTION('Linf'),
    { name: 'steps', type: 'integer', default: 5000, min: 1, description: 'queries (model evaluations) per example (AutoAttack: 5000)' },
    SEED_OPTION,
  ],
  run: (model, x, y, opts) => ({ x: squareLinf(model, x, y, { eps: opts.eps, queries: opts.steps, seed: opts.seed }) }),
};
