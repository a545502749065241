import { tf } from '../backend/index.js';
import { EPS_OPTION, SEED_OPTION, type Attack, type Classifier } from './attacks.js';
import { squareFraction, squareSearch, squareSettings, type SquareOptions } from './square.js';

/**
 * Square attack, L2 (Andriushchenko et al. 2020), as in the reference code (fra31/auto-attack,
 * square.py, margin loss, schedule not rescaled as AutoAttack runs it). Its squares carry the "meta"
 * pseudo-Gaussian pattern `squareEta` (a window whose two halves hold opposite-signed nested
 * rectangles of weight 1/k^2, unit L2 norm) times a random sign per channel. It starts from a 5x5
 * grid of such windows; then, per query, it moves the perturbation's mass from a second random
 * window into a first one (adding a fresh pattern to the first window's old direction), so the
 * perturbation keeps L2 norm eps (less only where [0, 1] clips it).
 */

/** The norm a window pattern is scaled in: L2 (weights 1/k^2, unit L2 norm) or L1 (1/k^4, unit L1 norm). */
export type PatternNorm = 'l2' | 'l1';

/** Nested centred rectangles of weights 1/(k+1)^2 (L2) or 1/(k+1)^4 (L1) on a rows x cols grid, unit norm (reference `eta_rectangles`). */
function etaRectangles(rows: number, cols: number, norm: PatternNorm): Float32Array {
  const out = new Float32Array(rows * cols);
  let r0 = Math.floor(rows / 2);
  let c0 = Math.floor(cols / 2);
  const rings = Math.max(r0, c0) + 1;
  for (let k = 0; k < rings; k++, r0--, c0--) {
    for (let r = Math.max(r0, 0); r < Math.min(r0 + 2 * k + 1, rows); r++) {
      for (let c = Math.max(c0, 0); c < Math.min(c0 + 2 * k + 1, cols); c++) out[r * cols + c] += 1 / (k + 1) ** (norm === 'l2' ? 2 : 4);
    }
  }
  return unit(out, norm);
}

function unit(v: Float32Array, norm: PatternNorm): Float32Array {
  const size = norm === 'l2' ? Math.sqrt(v.reduce((a, t) => a + t * t, 0)) : v.reduce((a, t) => a + Math.abs(t), 0);
  return size > 0 ? v.map((t) => t / size) : v;
}

/**
 * The side x side window pattern (reference `eta`): the top half's rectangles minus the bottom
 * half's, unit norm, transposed when `transpose` (the reference flips a coin for it).
 */
export function squareEta(side: number, transpose: boolean, norm: PatternNorm = 'l2'): Float32Array {
  const top = Math.floor(side / 2);
  const out = new Float32Array(side * side);
  out.set(etaRectangles(top, side, norm));
  out.set(etaRectangles(side - top, side, norm).map((t) => -t), top * side);
  const pattern = unit(out, norm);
  if (!transpose) return pattern;
  return pattern.map((_, at) => pattern[(at % side) * side + Math.floor(at / side)]);
}

/**
 * The starting perturbation of the L2 and L1 versions (flat, [n, h, w, c]): a centred grid of 5 x 5
 * windows of side h/5, each a pattern (shared by the batch) times a sign per example and channel.
 */
function squareGridStart(shape: readonly number[], norm: PatternNorm, rng: { next(): number }): Float32Array {
  const [n, h, w, c] = shape;
  const size = h * w * c;
  const tile = Math.max(1, Math.floor(h / 5));
  const offset = (extent: number) => Math.max(0, Math.floor((extent - 5 * tile) / 2));
  const delta = new Float32Array(n * size);
  for (let vh = offset(h); vh + tile <= h && vh < offset(h) + 5 * tile; vh += tile) {
    for (let vw = offset(w); vw + tile <= w && vw < offset(w) + 5 * tile; vw += tile) {
      const pattern = squareEta(tile, rng.next() > 0.5, norm);
      for (let i = 0; i < n; i++) {
        const signs = Array.from({ length: c }, () => (rng.next() < 0.5 ? -1 : 1));
        for (let r = 0; r < tile; r++) {
          for (let q = 0; q < tile; q++) {
            for (let ch = 0; ch < c; ch++) delta[i * size + ((vh + r) * w + vw + q) * c + ch] += pattern[r * tile + q] * signs[ch];
          }
        }
      }
    }
  }
  return delta;
}

/**
 * The L2 and L1 searches' starting point: each image plus the reference's grid of squares, placed by
 * `place` (rescaled and clipped in L2, projected onto the ball and box in L1).
 */
export function squareStartPoint(xs: Float32Array, shape: readonly number[], norm: PatternNorm, rng: { next(): number },
  place: (clean: Float32Array, delta: Float32Array, into: Float32Array) => void): Float32Array {
  const delta = squareGridStart(shape, norm, rng);
  const size = shape[1] * shape[2] * shape[3];
  const best = new Float32Array(xs.length);
  const rows = (t: Float32Array, i: number) => t.subarray(i * size, (i + 1) * size);
  for (let i = 0; i < shape[0]; i++) place(rows(xs, i), rows(delta, i), rows(best, i));
  return best;
}

/** One iteration's two windows of the L2 and L1 searches: the first gets a new pattern, the second's mass moves into it. */
export interface SquareWindows {
  side: number;
  first: [number, number];
  second: [number, number];
  /** Whether pixel (row, col) lies in either window. */
  inEither(row: number, col: number): boolean;
}

/**
 * The windows at iteration `it`: an odd side of at least 3 (the pattern's halves need room) and at most
 * the image, from the schedule's fraction of the image, and two uniform corners.
 */
export function squareWindows(pInit: number, it: number, h: number, w: number, rng: { next(): number }): SquareWindows {
  const p = squareFraction(pInit, it);
  let side = Math.max(Math.round(Math.sqrt(p * h * w)), 3);
  if (side % 2 === 0) side += 1;
  side = Math.min(side, h, w);
  // Corners in [0, extent - side]: the reference draws them in [0, extent - side) and so never moves the
  // last row and column (11 of 36 pixels of a 6 x 6 image); Kiln's Linf version also includes them.
  const corner = (extent: number) => Math.floor(rng.next() * (extent - side + 1));
  const [vh, vw, vh2, vw2] = [corner(h), corner(w), corner(h), corner(w)];
  const inWindow = (row: number, col: number, r0: number, c0: number) => row >= r0 && row < r0 + side && col >= c0 && col < c0 + side;
  return { side, first: [vh, vw], second: [vh2, vw2], inEither: (row, col) => inWindow(row, col, vh, vw) || inWindow(row, col, vh2, vw2) };
}

export function squareL2(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, opts: SquareOptions): tf.Tensor4D {
  const { queries, pInit, rng } = squareSettings(opts);
  const [, h, w, c] = x.shape;
  const eps = opts.eps;
  const xs = x.dataSync() as Float32Array;
  const size = h * w * c;
  const sign = () => (rng.next() < 0.5 ? -1 : 1);
  const at = (row: number, col: number, ch: number) => (row * w + col) * c + ch;
  /** Clean image plus `delta` rescaled to L2 norm eps, clipped to [0, 1] (reference: clamp(x + normalize(delta) * eps)). */
  const place = (clean: Float32Array, delta: Float32Array, into: Float32Array) => {
    const norm = Math.sqrt(delta.reduce((a, t) => a + t * t, 0)) + 1e-12;
    for (let j = 0; j < size; j++) into[j] = Math.min(1, Math.max(0, clean[j] + (delta[j] / norm) * eps));
  };

  const best = squareStartPoint(xs, x.shape, 'l2', rng, place);

  return squareSearch(model, x, y, best, queries, (it, open, candidate) => {
    const { side, first: [vh, vw], second: [vh2, vw2], inEither } = squareWindows(pInit, it, h, w, rng);
    const eta = squareEta(side, rng.next() > 0.5);
    open.forEach((i, k) => {
      const clean = xs.subarray(i * size, (i + 1) * size);
      const current = candidate.subarray(k * size, (k + 1) * size);
      const d = current.map((v, j) => v - clean[j]);
      // Norm of the whole perturbation, and of its part in the union of both windows (moved mass).
      let image = 0;
      let windows = 0;
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const moved = inEither(row, col);
          for (let ch = 0; ch < c; ch++) {
            const t = d[at(row, col, ch)] ** 2;
            image += t;
            if (moved) windows += t;
          }
        }
      }
      // Per channel: new pattern plus the first window's old direction, scaled to the mass to place.
      const target = Math.sqrt(Math.max(eps * eps - image, 0) / c + windows);
      const fresh = new Float32Array(side * side * c);
      for (let ch = 0; ch < c; ch++) {
        const s = sign();
        let old = 0;
        for (let j = 0; j < side * side; j++) old += d[at(vh + Math.floor(j / side), vw + (j % side), ch)] ** 2;
        old = Math.sqrt(old) + 1e-12;
        let norm = 0;
        for (let j = 0; j < side * side; j++) {
          const v = eta[j] * s + d[at(vh + Math.floor(j / side), vw + (j % side), ch)] / old;
          fresh[j * c + ch] = v;
          norm += v * v;
        }
        norm = Math.sqrt(norm) + 1e-12;
        for (let j = 0; j < side * side; j++) fresh[j * c + ch] *= target / norm;
      }
      for (let r = 0; r < side; r++) for (let q = 0; q < side; q++) for (let ch = 0; ch < c; ch++) d[at(vh2 + r, vw2 + q, ch)] = 0;
      for (let r = 0; r < side; r++) {
        for (let q = 0; q < side; q++) for (let ch = 0; ch < c; ch++) d[at(vh + r, vw + q, ch)] = fresh[(r * side + q) * c + ch];
      }
      place(clean, d, current);
    });
  });
}

export const squareL2Attack: Attack = {
  name: 'square-l2',
  norm: 'l2',
  needsManifold: false,
  options: [
    EPS_OPTION('L2'),
    { name: 'steps', type: 'integer', default: 5000, min: 1, description: 'queries (model evaluations) per example (AutoAttack: 5000)' },
    SEED_OPTION,
  ],
  run: (model, x, y, opts) => ({ x: squareL2(model, x, y, { eps: opts.eps, queries: opts.steps, seed: opts.seed }) }),
};
