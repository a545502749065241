import { tf } from '../backend/index.js';
import { EPS_OPTION, SEED_OPTION, type Attack, type Classifier } from './attacks.js';
import { projectL1Box } from './l1-box-projection.js';
import { squareSearch, squareSettings, type SquareOptions } from './square.js';
import { squareEta, squareStartPoint, squareWindows } from './square-l2.js';

/**
 * Square attack, L1 (Croce & Hein 2021, "Mind the box", its L1 extension of Andriushchenko et al.
 * 2020), as in the reference code (fra31/auto-attack, square.py, norm 'L1'). The L2 version's search
 * with L1 pieces: window patterns of nested rectangles weighted 1/k^4 with unit L1 norm, the mass of
 * a second window moved into the first in L1, and every candidate projected onto the L1 ball of
 * radius eps (1 - 1e-6) intersected with the box [0, 1] instead of rescaled and clipped.
 */

export function squareL1(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: SquareOptions): tf.Tensor4D {
  const { queries, pInit, rng } = squareSettings(opts);
  const [, h, w, c] = x.shape;
  const radius = opts.eps * (1 - 1e-6);
  const xs = x.dataSync() as Float32Array;
  const size = h * w * c;
  const at = (row: number, col: number, ch: number) => (row * w + col) * c + ch;
  /** Clean image plus `delta` projected onto the L1 ball and the box. */
  const place = (clean: Float32Array, delta: Float32Array, into: Float32Array) => {
    const projected = projectL1Box(clean, delta, radius);
    for (let j = 0; j < size; j++) into[j] = clean[j] + projected[j];
  };

  const best = squareStartPoint(xs, x.shape, 'l1', rng, place);

  return squareSearch(model, x, y, best, queries, (it, open, candidate) => {
    const { side, first: [vh, vw], second: [vh2, vw2], inEither } = squareWindows(pInit, it, h, w, rng);
    const eta = squareEta(side, rng.next() > 0.5, 'l1');
    open.forEach((i, k) => {
      const clean = xs.subarray(i * size, (i + 1) * size);
      const current = candidate.subarray(k * size, (k + 1) * size);
      const d = current.map((v, j) => v - clean[j]);
      // L1 norm of the whole perturbation, and per channel of its part in the union of both windows (the moved mass).
      let image = 0;
      const windows = new Float64Array(c);
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const moved = inEither(row, col);
          for (let ch = 0; ch < c; ch++) {
            const t = Math.abs(d[at(row, col, ch)]);
            image += t;
            if (moved) windows[ch] += t;
          }
        }
      }
      // Per channel: new pattern plus the first window's old direction, scaled to the mass to place
      // (the reference's (max(eps - |delta|_1, 0) / c + moved mass) * c).
      const fresh = new Float32Array(side * side * c);
      const cell = (j: number, ch: number) => at(vh + Math.floor(j / side), vw + (j % side), ch);
      for (let ch = 0; ch < c; ch++) {
        const s = rng.next() < 0.5 ? -1 : 1;
        let old = 1e-12;
        for (let j = 0; j < side * side; j++) old += Math.abs(d[cell(j, ch)]);
        let norm = 1e-12;
        for (let j = 0; j < side * side; j++) {
          const v = eta[j] * s + d[cell(j, ch)] / old;
          fresh[j * c + ch] = v;
          norm += Math.abs(v);
        }
        const target = (Math.max(opts.eps - image, 0) / c + windows[ch]) * c;
        for (let j = 0; j < side * side; j++) fresh[j * c + ch] *= target / norm;
      }
      for (let r = 0; r < side; r++) for (let q = 0; q < side; q++) for (let ch = 0; ch < c; ch++) d[at(vh2 + r, vw2 + q, ch)] = 0;
      for (let j = 0; j < side * side; j++) for (let ch = 0; ch < c; ch++) d[cell(j, ch)] = fresh[j * c + ch];
      place(clean, d, current);
    });
  });
}

export const squareL1Attack: Attack = {
  name: 'square-l1',
  norm: 'l1',
  needsManifold: false,
  options: [
    EPS_OPTION('L1'),
    { name: 'steps', type: 'integer', default: 5000, min: 1, description: 'queries (model evaluations) per example (AutoAttack: 5000)' },
    SEED_OPTION,
  ],
  run: (model, x, y, opts) => ({ x: squareL1(model, x, y, { eps: opts.eps, queries: opts.steps, seed: opts.seed }) }),
};
