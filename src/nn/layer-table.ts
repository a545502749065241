import { KilnError } from '../core/index.js';
import { tf } from '../backend/index.js';

/**
 * One table keyed by tfjs layer class name, read by everything that converts a LayersModel into
 * something else (explain's graph, the ONNX exporter, per-op latency lookup). Each entry turns a
 * layer into a normalized description: its kind, its live weight tensors and its settings, with
 * tfjs's config quirks (scalar or pair strides, optional BN parameters, ReLU's maxValue) resolved
 * once. Consumers handle kinds, never class names, and name the kinds they do not handle.
 */

/** @inline */
export type Pair = [number, number];
/** @inline */
export type Padding = 'same' | 'valid';

/** Sliding-window settings of convolutions and pooling. */
export interface LayerWindow {
  size: Pair;
  strides: Pair;
  padding: Padding;
}

/** Convolution window: kernel size, strides, dilations and padding. */
export interface ConvSettings {
  kernel: Pair;
  strides: Pair;
  dilations: Pair;
  padding: Padding;
}

export type LayerSpec =
  | { kind: 'input' }
  /** kernel [in, units]; `activation` follows the linear map ('linear' = none). */
  | { kind: 'dense'; kernel: tf.Tensor; bias: tf.Tensor | null; activation: string }
  /** conv2d: kernel [kh, kw, in, out]; depthwise: [kh, kw, in, multiplier]. */
  | { kind: 'conv2d' | 'depthwise'; kernel: tf.Tensor; bias: tf.Tensor | null; activation: string; conv: ConvSettings }
  /** Inference-mode batch norm over the last axis; gamma and beta are null when the layer has none. */
  | { kind: 'batchnorm'; mean: tf.Tensor; variance: tf.Tensor; gamma: tf.Tensor | null; beta: tf.Tensor | null; epsilon: number }
  /** An elementwise nonlinearity (Activation, ReLU as relu or relu6, Softmax over the last axis). */
  | { kind: 'activation'; activation: string }
  | { kind: 'maxpool' | 'avgpool'; window: LayerWindow }
  | { kind: 'globalmaxpool' | 'globalavgpool' }
  | { kind: 'flatten' }
  | { kind: 'reshape'; targetShape: number[] }
  | { kind: 'dropout' }
  | { kind: 'zeropad'; padding: [Pair, Pair] }
  | { kind: 'add' }
  | { kind: 'concat'; axis: number };

export type LayerKind = LayerSpec['kind'];

type Config = tf.serialization.ConfigDict;
/** The description of kind K (members listing several kinds count for each). */
/** The description of one kind of layer. */
export type LayerSpecOf<K extends LayerKind> = OfKind<LayerSpec, K>;
/** The members of the union S whose `kind` (itself possibly a union) includes K. */
type OfKind<S, K> = S extends { kind: infer D } ? (K extends D ? S : never) : never;

interface Entry {
  kind: LayerKind;
  describe(layer: tf.layers.Layer, config: Config): LayerSpec;
}

function entry<K extends LayerKind>(kind: K, describe: (layer: tf.layers.Layer, config: Config) => LayerSpecOf<K>): Entry {
  return { kind, describe };
}

/** A layer without settings that matter to a conversion. */
function plain<K extends 'input' | 'flatten' | 'dropout' | 'add'>(kind: K): Entry {
  return entry(kind, () => ({ kind }) as LayerSpecOf<K>);
}
function fail(layer: tf.layers.Layer, problem: string): never {
  throw new KilnError(`layer '${layer.name}' (${layer.getClassName()}) ${problem}`);
}

function pair(layer: tf.layers.Layer, v: unknown, name: string): Pair {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [Number(v[0]), Number(v[1])];
  return fail(layer, `has ${name} ${JSON.stringify(v)}, which is not a number or a pair`);
}

function channelsLast(layer: tf.layers.Layer, config: Config): void {
  const format = config.dataFormat ?? 'channelsLast';
  if (format !== 'channelsLast') fail(layer, `uses ${String(format)}; Kiln supports channelsLast only`);
}

function padding(layer: tf.layers.Layer, config: Config): Padding {
  const p = config.padding;
  if (p !== 'same' && p !== 'valid') fail(layer, `has padding '${String(p)}'; Kiln supports same and valid`);
  return p;
}

/** Checks that `axis` (default -1) is the last axis of the layer's input. */
function lastAxis(layer: tf.layers.Layer, axis: unknown, what: string): void {
  const a = Number(axis ?? -1);
  const rank = layer.inputSpec?.[0]?.ndim ?? (layer.input as tf.SymbolicTensor).rank;
  if (a !== -1 && a !== rank - 1) fail(layer, `${what} axis ${a}; Kiln supports the last axis only`);
}

/** A weight's live tensor, found by the last part of its variable name (kernel, gamma, moving_mean, ...). */
function weightNamed(layer: tf.layers.Layer, suffix: string): tf.Tensor | null {
  const v = layer.weights.find((w) => w.originalName.endsWith('/' + suffix) || w.name.endsWith('/' + suffix));
  return v ? v.read() : null;
}

function kernelOf(layer: tf.layers.Layer, suffix: string): tf.Tensor {
  return weightNamed(layer, suffix) ?? fail(layer, 'has no kernel');
}

function pooling(kind: 'maxpool' | 'avgpool'): Entry {
  return entry(kind, (layer, config) => {
    channelsLast(layer, config);
    const size = pair(layer, config.poolSize, 'poolSize');
    return { kind, window: { size, strides: pair(layer, config.strides ?? config.poolSize, 'strides'), padding: padding(layer, config) } };
  });
}

function globalPooling(kind: 'globalmaxpool' | 'globalavgpool'): Entry {
  return entry(kind, (layer, config) => {
    channelsLast(layer, config);
    return { kind };
  });
}

function convolution(kind: 'conv2d' | 'depthwise', kernelName: string): Entry {
  return entry(kind, (layer, config) => {
    channelsLast(layer, config);
    return {
      kind, kernel: kernelOf(layer, kernelName), bias: config.useBias === false ? null : weightNamed(layer, 'bias'),
      activation: String(config.activation ?? 'linear'),
      conv: {
        kernel: pair(layer, config.kernelSize, 'kernelSize'), strides: pair(layer, config.strides ?? 1, 'strides'),
        dilations: pair(layer, config.dilationRate ?? 1, 'dilationRate'), padding: padding(layer, config),
      },
    };
  });
}

const ENTRIES: Record<string, Entry> = {
  InputLayer: plain('input'),
  Dense: entry('dense', (layer, config) => ({
    kind: 'dense', kernel: kernelOf(layer, 'kernel'), bias: config.useBias === false ? null : weightNamed(layer, 'bias'),
    activation: String(config.activation ?? 'linear'),
  })),
  Conv2D: convolution('conv2d', 'kernel'),
  DepthwiseConv2D: convolution('depthwise', 'depthwise_kernel'),
  BatchNormalization: entry('batchnorm', (layer, config) => {
    lastAxis(layer, config.axis, 'normalizes');
    const mean = weightNamed(layer, 'moving_mean');
    const variance = weightNamed(layer, 'moving_variance');
    if (!mean || !variance) fail(layer, 'has no moving statistics');
    return { kind: 'batchnorm', mean, variance, gamma: weightNamed(layer, 'gamma'), beta: weightNamed(layer, 'beta'), epsilon: Number(config.epsilon ?? 1e-3) };
  }),
  ReLU: entry('activation', (layer, config) => {
    const max = config.maxValue;
    if (max != null && max !== 6) fail(layer, `has maxValue ${String(max)}; Kiln supports none or 6`);
    return { kind: 'activation', activation: max === 6 ? 'relu6' : 'relu' };
  }),
  Activation: entry('activation', (_layer, config) => ({ kind: 'activation', activation: String(config.activation) })),
  Softmax: entry('activation', (layer, config) => {
    lastAxis(layer, config.axis, 'takes the softmax over');
    return { kind: 'activation', activation: 'softmax' };
  }),
  MaxPooling2D: pooling('maxpool'),
  AveragePooling2D: pooling('avgpool'),
  GlobalMaxPooling2D: globalPooling('globalmaxpool'),
  GlobalAveragePooling2D: globalPooling('globalavgpool'),
  Flatten: plain('flatten'),
  Reshape: entry('reshape', (_layer, config) => ({ kind: 'reshape', targetShape: (config.targetShape as number[]).map(Number) })),
  Dropout: plain('dropout'),
  ZeroPadding2D: entry('zeropad', (layer, config) => {
    channelsLast(layer, config);
    const [top, left] = config.padding as [Pair, Pair];
    return { kind: 'zeropad', padding: [[top[0], top[1]], [left[0], left[1]]] };
  }),
  Add: plain('add'),
  Concatenate: entry('concat', (_layer, config) => ({ kind: 'concat', axis: Number(config.axis ?? -1) })),
};

/** The layer classes in the table, in table order. */
export const LAYER_CLASSES: readonly string[] = Object.keys(ENTRIES);

/**
 * A consumer's handler for each layer kind, typed by the kind's description, or null where it does
 * not handle the kind: every consumer states its answer for every kind.
 */
export type LayerHandlers<A extends unknown[], R> = {
  readonly [K in LayerKind]: ((spec: LayerSpecOf<K>, layer: tf.layers.Layer, ...args: A) => R) | null;
};

/** The layer classes whose kind `handlers` handles. */
export function handledClasses(handlers: { readonly [K in LayerKind]: unknown }): string[] {
  return LAYER_CLASSES.filter((c) => handlers[ENTRIES[c].kind] !== null);
}

/** The error for a layer `consumer` cannot convert, in the same words for every consumer. */
export function unsupportedLayer(consumer: string, layer: tf.layers.Layer, supported: readonly string[]): KilnError {
  return new KilnError(`${consumer}: layer '${layer.name}' of type ${layer.getClassName()} is not supported ` +
    `(supported: ${supported.join(', ')})`);
}

/**
 * Describes `layer` and hands the description to the consumer's handler for its kind; a class
 * outside the table, or a kind the consumer does not handle, is the one unsupported-layer error.
 */
export function convertLayer<A extends unknown[], R>(consumer: string, handlers: LayerHandlers<A, R>, layer: tf.layers.Layer, ...args: A): R {
  const found = ENTRIES[layer.getClassName()];
  const handler = found ? handlers[found.kind] : null;
  if (!found || !handler) throw unsupportedLayer(consumer, layer, handledClasses(handlers));
  // The handler was picked by the description's kind, so it takes that description.
  return (handler as (spec: LayerSpec, layer: tf.layers.Layer, ...args: A) => R)(found.describe(layer, layer.getConfig()), layer, ...args);
}
