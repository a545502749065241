import { tf, nextSeed } from '../backend/index.js';
import { check } from '../core/index.js';
import { IMAGE_SIZE } from './problem.js';

export interface ShapesCnnOptions {
  /** Channels of the two strided conv layers (5x5 then 3x3, stride 2 each: 28 -> 14 -> 7). */
  filters: [number, number];
  /** Width of the dense layer before the two logits. */
  dense: number;
}

/**
 * The excusable experiment's classifier: two stride-2 convolutions and a dense layer. Strided
 * convolutions instead of max-pooling keep it cheap on wasm and piecewise linear in the input.
 * The rule needs sub-pixel precision on position and size, which local filters read directly:
 * with 1500 steps of 128 fresh samples it reaches about 4.5% test error (8-16 filters: 5.7%).
 * Like Kiln's other classifiers it ends in a 'logits' layer and a softmax named 'probs'.
 */
export function shapesCnn(opts: ShapesCnnOptions): tf.LayersModel {
  check(opts.filters.length === 2 && opts.filters.every((f) => Number.isInteger(f) && f >= 1),
    `the CNN needs two positive integer filter counts (got ${opts.filters.join(',')})`);
  check(Number.isInteger(opts.dense) && opts.dense >= 1, `the dense width must be a positive integer (got ${opts.dense})`);
  const kernel = () => tf.initializers.glorotUniform({ seed: nextSeed() });
  const input = tf.input({ shape: [IMAGE_SIZE, IMAGE_SIZE, 1] });
  let x = tf.layers.conv2d({ filters: opts.filters[0], kernelSize: 5, strides: 2, padding: 'same', activation: 'relu',
    kernelInitializer: kernel() }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: opts.filters[1], kernelSize: 3, strides: 2, padding: 'same', activation: 'relu',
    kernelInitializer: kernel() }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: opts.dense, activation: 'relu', kernelInitializer: kernel() }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 2, kernelInitializer: kernel(), name: 'logits' }).apply(x) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(logits) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: probs, name: 'shapes-cnn' });
}
