import { check, createRegistry } from '../core/index.js';
import { tf, nextSeed, requireBackend } from '../backend/index.js';

/**
 * Classifier builders. Every model ends in a linear Dense layer named 'logits' followed by a
 * softmax Activation named 'probs': users get probabilities, while the training loss, attacks and
 * attribution methods can take the pre-softmax scores through `logitsModel`.
 */

export const ACTIVATIONS = ['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'softplus', 'swish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface MlpOptions {
  /** Feature count, or the shape of one example (flattened first when it has several axes). */
  inputs: number | number[];
  hidden: number[];
  outputs: number;
  activation?: Activation;
  /** Dropout rate after each hidden layer (0 = none). */
  dropout?: number;
}

export interface CnnOptions {
  /** [height, width, channels]. */
  inputShape: number[];
  outputs: number;
  /** Channels of each 3x3 conv + 2x2 max-pool stage. */
  filters?: number[];
  /** Width of the dense layer before the classifier. */
  dense?: number;
  dropout?: number;
}

function checkActivation(name: string): asserts name is Activation {
  check((ACTIVATIONS as readonly string[]).includes(name),
    `unknown activation '${name}' (known: ${ACTIVATIONS.join(', ')})`);
}

function checkDropout(rate: number): void {
  check(rate >= 0 && rate < 1, `dropout must be in [0, 1) (got ${rate})`);
}

/** Glorot-uniform kernels drawn from the global seed stream, so `setSeed` makes a model reproducible. */
function seededKernel() {
  return tf.initializers.glorotUniform({ seed: nextSeed() });
}

function classifierHead(x: tf.SymbolicTensor, outputs: number): tf.SymbolicTensor {
  const logits = tf.layers.dense({ units: outputs, kernelInitializer: seededKernel(), name: 'logits' })
    .apply(x) as tf.SymbolicTensor;
  return tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(logits) as tf.SymbolicTensor;
}

/**
 * A multilayer perceptron classifier: inputs with several axes are flattened, then one Dense layer per
 * `hidden` width (with dropout when asked), then the `logits` + `probs` head. Weights come from Kiln's
 * seed stream, so `setSeed` makes the model reproducible.
 */
export function mlp(opts: MlpOptions): tf.LayersModel {
  requireBackend('mlp()');
  const shape = typeof opts.inputs === 'number' ? [opts.inputs] : opts.inputs;
  const activation = opts.activation ?? 'relu';
  const dropout = opts.dropout ?? 0;
  checkActivation(activation);
  checkDropout(dropout);
  check(shape.every((d) => Number.isInteger(d) && d > 0), `MLP input shape must be positive integers (got ${shape})`);
  check(opts.hidden.every((h) => Number.isInteger(h) && h > 0), `MLP hidden widths must be positive integers (got ${opts.hidden.join(',')})`);
  check(Number.isInteger(opts.outputs) && opts.outputs >= 2, `a classifier needs at least 2 outputs (got ${opts.outputs})`);

  const input = tf.input({ shape });
  let x: tf.SymbolicTensor = input;
  if (shape.length > 1) x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  for (const units of opts.hidden) {
    x = tf.layers.dense({ units, activation, kernelInitializer: seededKernel() }).apply(x) as tf.SymbolicTensor;
    if (dropout > 0) x = tf.layers.dropout({ rate: dropout, seed: nextSeed() }).apply(x) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: classifierHead(x, opts.outputs), name: 'mlp' });
}

/** A small LeNet-style CNN: [3x3 conv + relu + 2x2 max-pool] per entry of `filters`, dense, classifier. */
export function cnn(opts: CnnOptions): tf.LayersModel {
  requireBackend('cnn()');
  const filters = opts.filters ?? [8, 16];
  const dense = opts.dense ?? 64;
  const dropout = opts.dropout ?? 0;
  checkDropout(dropout);
  check(opts.inputShape.length === 3, `a CNN needs images of shape [height, width, channels] (got [${opts.inputShape}])`);
  const minSide = Math.min(opts.inputShape[0], opts.inputShape[1]);
  check(minSide >= 2 ** filters.length * 2,
    `images of side ${minSide} are too small for ${filters.length} conv + pool stages`);

  const input = tf.input({ shape: opts.inputShape });
  let x: tf.SymbolicTensor = input;
  for (const f of filters) {
    x = tf.layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: seededKernel() })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: dense, activation: 'relu', kernelInitializer: seededKernel() }).apply(x) as tf.SymbolicTensor;
  if (dropout > 0) x = tf.layers.dropout({ rate: dropout, seed: nextSeed() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: classifierHead(x, opts.outputs), name: 'cnn' });
}

/** What every registered builder receives: the data's shape and class count plus optional knobs. */
export interface ModelSpec {
  inputShape: number[];
  numClasses: number;
  hidden?: number[];
  activation?: Activation;
  dropout?: number;
}

export type ModelBuilder = (spec: ModelSpec) => tf.LayersModel;

export const models = createRegistry<ModelBuilder>('model');
models.register('mlp', (s) => mlp({ inputs: s.inputShape, hidden: s.hidden ?? [64, 64], outputs: s.numClasses,
  activation: s.activation, dropout: s.dropout }), 'multilayer perceptron (--hidden widths)');
models.register('cnn', (s) => cnn({ inputShape: s.inputShape, outputs: s.numClasses, dense: s.hidden?.[0],
  dropout: s.dropout }), 'two 3x3 conv + max-pool stages, dense, classifier (images only)');

/**
 * A model sharing `model`'s weights that outputs pre-softmax scores: the input of a final softmax
 * Activation layer when there is one, else the model itself.
 */
export function logitsModel(model: tf.LayersModel): tf.LayersModel {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig();
  if (last.getClassName() !== 'Activation' || config.activation !== 'softmax') return model;
  const logits = last.input as tf.SymbolicTensor;
  return tf.model({ inputs: model.inputs, outputs: logits });
}

/**
 * Gives every Dropout layer a fresh seed from `seed()`. A tfjs Dropout layer reuses its one seed on
 * every call (the same mask each batch); the training loop calls this before each step instead.
 */
export function reseedDropout(model: tf.LayersModel, seed: () => number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed: number }).seed = seed();
  }
}
