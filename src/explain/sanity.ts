import { createRng } from '../core/index.js';
import { tf } from '../backend/index.js';
import { spearman } from '../math/index.js';

/**
 * Mean over examples of the Spearman correlation of |a| and |b| (each example flattened); an
 * example where either map is constant counts as uncorrelated (0).
 */
export function meanRankCorrelation(a: tf.Tensor, b: tf.Tensor): number {
  const n = a.shape[0];
  const size = a.size / n;
  const x = a.dataSync();
  const y = b.dataSync();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const xi = Array.from(x.subarray(i * size, (i + 1) * size), Math.abs);
    const yi = Array.from(y.subarray(i * size, (i + 1) * size), Math.abs);
    const rho = spearman(xi, yi);
    total += Number.isNaN(rho) ? 0 : rho;
  }
  return total / n;
}

const RANDOMIZED = new Set(['Dense', 'Conv2D', 'DepthwiseConv2D']);

export interface RandomizationStep {
  /** The layer randomized last (all layers above it are randomized too); 'none' for the original. */
  layer: string;
  /** Mean Spearman correlation of |attribution| with the original model's. */
  similarity: number;
}

/**
 * Cascading randomization: re-initializes the weighted layers one at a time from the output down
 * (kernels ~ normal with the trained kernel's standard deviation, biases 0) and calls `explain` after
 * each step. The model's weights are restored afterwards.
 */
export function cascadingRandomization(model: tf.LayersModel, explain: (model: tf.LayersModel) => tf.Tensor,
  opts: { seed?: number } = {}): RandomizationStep[] {
  const rng = createRng(opts.seed ?? 0);
  const layers = model.layers.filter((l) => RANDOMIZED.has(l.getClassName()) && l.getWeights().length > 0).reverse();
  const saved = layers.map((l) => l.getWeights().map((w) => tf.clone(w)));
  const original = explain(model);
  const steps: RandomizationStep[] = [{ layer: 'none', similarity: meanRankCorrelation(original, original) }];
  try {
    for (const layer of layers) {
      const fresh = tf.tidy(() => layer.getWeights().map((w, k) => {
        if (k > 0) return tf.zerosLike(w);
        const sd = Math.sqrt(tf.moments(w).variance.dataSync()[0]) || 0.05;
        return tf.randomNormal(w.shape, 0, sd, 'float32', rng.int(2 ** 31 - 1));
      }));
      layer.setWeights(fresh);
      tf.dispose(fresh);
      const attr = explain(model);
      steps.push({ layer: layer.name, similarity: meanRankCorrelation(original, attr) });
      attr.dispose();
    }
  } finally {
    layers.forEach((l, i) => l.setWeights(saved[i]));
    tf.dispose(saved.flat());
    original.dispose();
  }
  return steps;
}

export interface FlipCurve {
  /** Fraction of pixels removed at each step (0 first). */
  fractions: number[];
  /** Mean score of the explained class at each step. */
  scores: number[];
  /** Area over the perturbation curve: mean over steps of (score before - score now). */
  aopc: number;
}

/**
 * Pixel flipping: per example, pixels (channels summed) are ordered by relevance, most relevant
 * first, and set to `value` in `steps` equal chunks up to `maxFraction` of the image; `score` maps a
 * batch to class scores (e.g. probabilities) and `target` names each example's class.
 */
export function pixelFlipping(score: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, relevance: tf.Tensor,
  target: number[], opts: { steps?: number; maxFraction?: number; value?: number } = {}): FlipCurve {
  const steps = opts.steps ?? 20;
  const maxFraction = opts.maxFraction ?? 0.2;
  const value = opts.value ?? 0;
  const [n, ...shape] = x.shape;
  const channels = shape.length === 3 ? shape[2] : 1;
  const size = x.size / n;
  const pixels = size / channels;
  const data = Float32Array.from(x.dataSync());
  const rel = relevance.dataSync();
  const order: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = new Float64Array(pixels);
    for (let p = 0; p < pixels; p++) for (let c = 0; c < channels; c++) r[p] += rel[i * size + p * channels + c];
    order.push(Array.from({ length: pixels }, (_, p) => p).sort((a, b) => r[b] - r[a]));
  }
  const fractions: number[] = [];
  const scores: number[] = [];
  let flipped = 0;
  for (let k = 0; k <= steps; k++) {
    const upTo = Math.round((k / steps) * maxFraction * pixels);
    for (let i = 0; i < n; i++) {
      for (let j = flipped; j < upTo; j++) {
        const p = order[i][j];
        for (let c = 0; c < channels; c++) data[i * size + p * channels + c] = value;
      }
    }
    flipped = upTo;
    const s = tf.tidy(() => score(tf.tensor(data, x.shape)).arraySync() as number[][]);
    fractions.push(upTo / pixels);
    scores.push(target.reduce((a, t, i) => a + s[i][t], 0) / n);
  }
  const aopc = scores.reduce((a, s) => a + (scores[0] - s), 0) / scores.length;
  return { fractions, scores, aopc };
}
