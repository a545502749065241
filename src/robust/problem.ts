import { tf } from '../backend/index.js';
import type { Rng } from '../core/index.js';

/**
 * A controlled visual classification problem whose data manifold and true decision boundary are
 * known exactly (the setting of Kindermans and Staats, "When adversarial examples are excusable").
 *
 * Latent z lives in the box [-1, 1]^5 with coordinates
 *   0: horizontal position, 1: vertical position, 2: size, 3: angle, 4: shape morph
 *      (ellipse at -1, rounded rectangle at +1).
 * `render` maps z to a 28x28 grayscale image in [0, 1] with tf ops only (soft edges, so gradients
 * flow to z). The shape is elongated (aspect 0.55) and its angle stays within +-60 degrees, so no two
 * latents in the box draw the same image: the label is a function of the image.
 *
 * The label is the sign of a product of two sinusoids of linear projections,
 *   g(z) = sin(w1 . z + b1) * sin(w2 . z + b2),   label = g(z) > 0 ? 1 : 0,
 * an oblique checkerboard: a strongly non-linear (parity-like) rule that uses every latent. Its
 * boundary is the union of the hyperplane families {w_k . z + b_k = m pi}, so the Euclidean distance
 * in latent space from any z to the true boundary is exact:
 *   d(z) = min_k  dist(w_k . z + b_k, pi Z) / |w_k|.
 * (Distance in R^5: the rule is defined outside the box too, and the renderer draws any z.)
 */
export const LATENT_DIM = 5;
export const IMAGE_SIZE = 28;
export const LATENT_NAMES = ['x', 'y', 'size', 'angle', 'morph'] as const;

/**
 * The two projections of the label rule (rows) and their offsets. Each family crosses the box
 * twice (w_k . z + b_k passes 0 and pi), giving a 3x3 checkerboard of cells.
 *
 * Weights follow how visible each coordinate is. One latent unit moves the image by about 8.4
 * (x), 10.5 (y), 4.3 (size), 9.2 (angle) but only 1.2 (morph) in pixel L2, and a CNN regressing z
 * from pixels reaches RMSE 0.02-0.04 on the first four and 0.17 on morph. An earlier rule weighted
 * morph 0.9: its boundary then hinged on a barely visible change (an MLP's infinite-data test
 * error stayed near 14%, most errors far from the latent boundary), and latent distance stopped
 * meaning image ambiguity. Here the weight per pixel of image change is 0.1-0.25 for every coordinate, so
 * latent distance to the boundary tracks how ambiguous an image is, and the rule stays a parity
 * of two oblique slab indices (not linearly separable, every latent involved).
 */
const W: readonly (readonly number[])[] = [
  [2.0, 0.0, 0.7, 1.2, 0.0],
  [0.0, 2.0, -0.8, 0.3, 0.25],
];
const B: readonly number[] = [0.9, 2.2];

/** Physical parameters of a latent, in pixels and radians. */
function physical(z: tf.Tensor2D) {
  const col = (i: number) => z.slice([0, i], [-1, 1]).reshape([-1, 1, 1]);
  const half = IMAGE_SIZE / 2;
  return {
    cx: col(0).mul(4.5).add(half),
    cy: col(1).mul(4.5).add(half),
    a: col(2).mul(2).add(7.5), // semi-major axis
    theta: col(3).mul(Math.PI / 3),
    // superellipse exponent: 2 (ellipse) .. 8 (rounded rectangle)
    p: col(4).mul(3).add(5),
  };
}

/** Soft edge width in pixels: small enough for crisp shapes, large enough for useful gradients. */
const EDGE = 0.6;

/** Renders latents [n, 5] to images [n, 28, 28, 1] in [0, 1]. Differentiable in z. */
export function render(z: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const { cx, cy, a, theta, p } = physical(z);
    const coords = tf.range(0, IMAGE_SIZE).add(0.5);
    const px = coords.reshape([1, 1, IMAGE_SIZE]);
    const py = coords.reshape([1, IMAGE_SIZE, 1]);
    const dx = px.sub(cx);
    const dy = py.sub(cy);
    const c = tf.cos(theta);
    const s = tf.sin(theta);
    const u = dx.mul(c).add(dy.mul(s));
    const v = dy.mul(c).sub(dx.mul(s));
    const b = a.mul(0.55);
    // Superellipse radius rho = (|u/a|^p + |v/b|^p)^(1/p), written with exp/log because wasm's
    // broadcasting Pow is ~20x slower; |.| + tiny keeps the log (and gradients) finite at 0.
    const term = (t: tf.Tensor, r: tf.Tensor) => tf.exp(tf.log(tf.abs(t.div(r)).add(1e-6)).mul(p));
    const rho = tf.exp(tf.log(term(u, a).add(term(v, b))).div(p));
    // (1 - rho) * b approximates the signed distance to the edge in pixels.
    const img = tf.sigmoid(tf.scalar(1).sub(rho).mul(b).div(EDGE));
    return img.reshape([-1, IMAGE_SIZE, IMAGE_SIZE, 1]) as tf.Tensor4D;
  });
}

/** g(z) of the label rule for one latent. */
export function ruleValue(z: ArrayLike<number>): number {
  let g = 1;
  for (let k = 0; k < W.length; k++) {
    let t = B[k];
    for (let i = 0; i < LATENT_DIM; i++) t += W[k][i] * z[i];
    g *= Math.sin(t);
  }
  return g;
}

/** The true label (0 or 1) of one latent. */
export function labelOf(z: ArrayLike<number>): number {
  return ruleValue(z) > 0 ? 1 : 0;
}

/** Exact Euclidean distance in latent space from z to the true decision boundary. */
export function distanceToBoundary(z: ArrayLike<number>): number {
  return Math.min(...W.map((_, k) => distanceToFamily(z, k)));
}

/** The nearest point of the true boundary to z (used by tests to check the distance). */
export function nearestBoundaryPoint(z: ArrayLike<number>): number[] {
  const d = W.map((_, k) => distanceToFamily(z, k));
  const k = d.indexOf(Math.min(...d));
  const w = W[k];
  const norm2 = w.reduce((acc, v) => acc + v * v, 0);
  let t = B[k];
  for (let i = 0; i < LATENT_DIM; i++) t += w[i] * z[i];
  // Move along w_k until w_k . z + b_k hits the nearest multiple of pi.
  const shift = (Math.PI * Math.round(t / Math.PI) - t) / norm2;
  return Array.from(z, (v, i) => v + shift * w[i]);
}

/** Distance from z to the nearest hyperplane {w_k . z + b_k = m pi} of family k. */
function distanceToFamily(z: ArrayLike<number>, k: number): number {
  let t = B[k];
  let norm2 = 0;
  for (let i = 0; i < LATENT_DIM; i++) {
    t += W[k][i] * z[i];
    norm2 += W[k][i] ** 2;
  }
  return Math.abs(t - Math.PI * Math.round(t / Math.PI)) / Math.sqrt(norm2);
}

/** A batch of latents drawn uniformly from the box, as a flat row-major array. */
export function sampleLatents(n: number, rng: Rng): Float32Array {
  const z = new Float32Array(n * LATENT_DIM);
  for (let i = 0; i < z.length; i++) z[i] = 2 * rng.next() - 1;
  return z;
}

/** Labels of a flat row-major batch of latents. */
export function labelsOf(z: Float32Array): Int32Array {
  const n = z.length / LATENT_DIM;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = labelOf(z.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM));
  return y;
}

/** Distances to the boundary of a flat row-major batch of latents. */
export function distancesOf(z: Float32Array): Float64Array {
  const n = z.length / LATENT_DIM;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = distanceToBoundary(z.subarray(i * LATENT_DIM, (i + 1) * LATENT_DIM));
  return d;
}

/** Clamps latents into the sampling box [-1, 1]^5 (attacks on the manifold stay on its support). */
export function clampToBox(z: tf.Tensor2D): tf.Tensor2D {
  return tf.clipByValue(z, -1, 1);
}
