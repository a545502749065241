import { tf } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { fooled, type Classifier } from '../src/robust/index.js';

/**
 * A linear two-class score s(x) = w.x + b (w = +-1 per pixel, s around 2: class 0) padded with two
 * hopeless classes (for the DLR losses), on `side` x `side` one-channel images near 0.5 (so the box leaves
 * 0.5 of room per pixel). The smallest change that flips the class is |s(x)| / ||w||_dual: in Linf
 * |s| / D, in L2 |s| / sqrt(D), in L1 |s| (reachable while |s| < 0.45 D). `masked` rounds the input to
 * quarters first, which has a zero gradient: the model hides its gradient from gradient attacks.
 */
export function linearAttackModel(seed: number, side: number, masked = false): { model: Classifier; x: tf.Tensor4D; y: tf.Tensor1D; margins: number[] } {
  const D = side * side;
  const rng = createRng(seed);
  const w = Float32Array.from({ length: D }, () => (rng.next() < 0.5 ? -1 : 1));
  const n = 6;
  const xs = Float32Array.from({ length: n * D }, () => 0.5 + (rng.next() - 0.5) * 0.1);
  const wt = tf.tensor2d(w, [D, 1]);
  const score = (x: tf.Tensor4D) => x.reshape([-1, D]).matMul(wt);
  const plain = tf.tidy(() => score(tf.tensor4d(xs, [n, side, side, 1])).dataSync());
  const b = -Array.from(plain).reduce((a, v) => a + v, 0) / n + 2;
  const model: Classifier = (x) => tf.tidy(() => {
    const seen = masked ? x.mul(4).round().div(4) as tf.Tensor4D : x;
    const s = score(seen).add(b);
    return tf.concat([s, s.neg(), tf.fill([x.shape[0], 1], -50), tf.fill([x.shape[0], 1], -50)], 1) as tf.Tensor2D;
  });
  return { model, x: tf.tensor4d(xs, [n, side, side, 1]), y: tf.zeros([n], 'int32') as tf.Tensor1D, margins: Array.from(plain, (v) => Math.abs(v + b)) };
}

export const countFooled = (model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): number => tf.tidy(() => fooled(model, x, y).sum()).dataSync()[0];
