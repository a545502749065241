import { KilnError, check } from '../core/index.js';
import { tf } from '../backend/index.js';

/**
 * A LayersModel rewritten as a small graph of explainable ops. Every Keras layer becomes one op,
 * except that a Dense/Conv layer with a fused activation becomes two (the linear part, then the
 * activation), so rules for linear maps and rules for nonlinearities stay separate, as in
 * iNNvestigate. Weights are copied at build time: an analyzer explains the model as it was then.
 */

/**
 * The linear layers the graph distinguishes: dense, 2-D and depthwise convolution, per-channel affine.
 *
 * @inline
 */
export type LinearKind = 'dense' | 'conv2d' | 'depthwise' | 'affine';

/** A linear map with parameters: y = apply(x, weight, bias). Rules swap in modified parameters. */
export interface LinearParams {
  kind: LinearKind;
  weight: tf.Tensor;
  bias: tf.Tensor | null;
  apply(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor;
  /** Window geometry of convolutions (PatternNet extracts input patches with it). */
  conv?: ConvGeometry;
}

/**
 * Kernel size, strides, dilations and padding of a convolution.
 *
 * @inline
 */
export interface ConvGeometry {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: 'same' | 'valid';
}

/**
 * - input: the model input.
 * - linear: a parameterised linear map (Dense, Conv2D, DepthwiseConv2D, a standalone BatchNormalization).
 * - activation: an elementwise nonlinearity (`activation` names it).
 * - pool: a parameter-free linear map (average pooling); LRP redistributes proportionally to inputs.
 * - add: elementwise sum of several inputs.
 * - route: moves or selects values without weighting them (flatten, reshape, dropout at inference,
 *   concatenation, zero padding, max pooling); every method sends signals back along its gradient.
 *
 * @inline
 */
export type OpType = 'input' | 'linear' | 'activation' | 'pool' | 'add' | 'route';

export interface GraphOp {
  id: number;
  type: OpType;
  /** The Keras layer this op came from, for messages. */
  layerName: string;
  className: string;
  inputs: number[];
  forward(xs: tf.Tensor[]): tf.Tensor;
  linear?: LinearParams;
  activation?: string;
}

export interface Graph {
  /** Topologically ordered; ops[0] is the input, the last op the output. */
  ops: GraphOp[];
  inputShape: number[];
}

type Config = Record<string, unknown>;
type AddOp = (op: Omit<GraphOp, 'id'>) => number;
type Converter = (layer: tf.layers.Layer, config: Config, inputs: number[], add: AddOp) => number;

const ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  softplus: (x) => tf.softplus(x),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  softmax: (x) => tf.softmax(x),
};

export const SUPPORTED_LAYERS = [
  'InputLayer', 'Dense', 'Conv2D', 'DepthwiseConv2D', 'MaxPooling2D', 'AveragePooling2D',
  'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'BatchNormalization', 'ReLU', 'Activation', 'Softmax',
  'Flatten', 'Reshape', 'Dropout', 'ZeroPadding2D', 'Add', 'Concatenate',
] as const;

function pair(v: unknown, name: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [Number(v[0]), Number(v[1])];
  throw new KilnError(`cannot read ${name} ${JSON.stringify(v)}`);
}

function channelsLast(layer: tf.layers.Layer, config: Config): void {
  const format = config.dataFormat ?? 'channelsLast';
  if (format !== 'channelsLast') {
    throw new KilnError(`layer '${layer.name}' (${layer.getClassName()}) uses ${String(format)}; explain supports channelsLast only`);
  }
}

function padding(layer: tf.layers.Layer, config: Config): 'same' | 'valid' {
  const p = config.padding;
  if (p !== 'same' && p !== 'valid') {
    throw new KilnError(`layer '${layer.name}' (${layer.getClassName()}) has padding '${String(p)}'; explain supports same and valid`);
  }
  return p;
}

/** Window, strides and padding of a 2-D pooling layer (channels-last only). */
function poolWindow(layer: tf.layers.Layer, config: Config) {
  channelsLast(layer, config);
  return {
    size: pair(config.poolSize, 'poolSize'),
    strides: pair(config.strides ?? config.poolSize, 'strides'),
    pad: padding(layer, config),
  };
}

function activationOp(layer: tf.layers.Layer, name: string, input: number, add: AddOp): number {
  const fn = ACTIVATIONS[name];
  if (!fn) {
    throw new KilnError(`layer '${layer.name}' has activation '${name}', which explain does not support ` +
      `(supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  }
  if (name === 'linear') return input;
  return add({ type: 'activation', layerName: layer.name, className: layer.getClassName(), inputs: [input],
    forward: ([x]) => fn(x), activation: name });
}

/** Reads a weight by the suffix of its variable name (gamma, moving_mean, kernel, ...). */
function weightNamed(layer: tf.layers.Layer, suffix: string): tf.Tensor | null {
  const v = layer.weights.find((w) => w.originalName.endsWith('/' + suffix) || w.name.endsWith('/' + suffix));
  return v ? tf.clone(v.read()) : null;
}

function kernelLayer(kind: LinearKind, apply: LinearParams['apply'], conv?: ConvGeometry): Converter {
  return (layer, config, inputs, add) => {
    const weight = weightNamed(layer, kind === 'depthwise' ? 'depthwise_kernel' : 'kernel');
    check(weight, `layer '${layer.name}' has no kernel`);
    const bias = config.useBias === false ? null : weightNamed(layer, 'bias');
    const linear: LinearParams = { kind, weight, bias, apply, conv };
    const id = add({ type: 'linear', layerName: layer.name, className: layer.getClassName(), inputs,
      forward: ([x]) => apply(x, weight, bias), linear });
    return activationOp(layer, String(config.activation ?? 'linear'), id, add);
  };
}

function withBias(y: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  return bias ? tf.add(y, bias) : y;
}

/** Dense acts on the last axis of inputs of any rank. */
function denseApply(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor {
  const units = w.shape[1] as number;
  if (x.rank === 2) return withBias(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
  const flat = tf.reshape(x, [-1, x.shape[x.rank - 1]]) as tf.Tensor2D;
  return tf.reshape(withBias(tf.matMul(flat, w as tf.Tensor2D), b), [...x.shape.slice(0, -1), units]);
}

const converters: Record<string, Converter> = {
  Dense: kernelLayer('dense', denseApply),
  Conv2D: (layer, config, inputs, add) => {
    channelsLast(layer, config);
    const strides = pair(config.strides, 'strides');
    const dilations = pair(config.dilationRate ?? 1, 'dilationRate');
    const pad = padding(layer, config);
    const kernel = pair(config.kernelSize, 'kernelSize');
    return kernelLayer('conv2d', (x, w, b) =>
      withBias(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad, 'NHWC', dilations), b),
    { kernel, strides, dilations, padding: pad })(layer, config, inputs, add);
  },
  DepthwiseConv2D: (layer, config, inputs, add) => {
    channelsLast(layer, config);
    const strides = pair(config.strides, 'strides');
    const dilations = pair(config.dilationRate ?? 1, 'dilationRate');
    const pad = padding(layer, config);
    const kernel = pair(config.kernelSize, 'kernelSize');
    return kernelLayer('depthwise', (x, w, b) =>
      withBias(tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad, 'NHWC', dilations), b),
    { kernel, strides, dilations, padding: pad })(layer, config, inputs, add);
  },
  BatchNormalization: (layer, config, inputs, add) => {
    const axis = Number(config.axis ?? -1);
    const rank = layer.inputSpec?.[0]?.ndim ?? (layer.input as tf.SymbolicTensor).rank;
    check(axis === -1 || axis === rank - 1,
      `layer '${layer.name}' (BatchNormalization) normalizes axis ${axis}; explain supports the last axis only`);
    const mean = weightNamed(layer, 'moving_mean');
    const variance = weightNamed(layer, 'moving_variance');
    check(mean && variance, `layer '${layer.name}' has no moving statistics`);
    const gamma = weightNamed(layer, 'gamma');
    const beta = weightNamed(layer, 'beta');
    // Inference-mode BN is the affine map x * scale + shift, per channel.
    const scale = tf.tidy(() => {
      const s = tf.rsqrt(tf.add(variance, Number(config.epsilon ?? 1e-3)));
      return gamma ? tf.mul(s, gamma) : s;
    });
    const shift = tf.tidy(() => {
      const t = tf.neg(tf.mul(mean, scale));
      return beta ? tf.add(t, beta) : t;
    });
    tf.dispose([mean, variance, gamma, beta].filter((t): t is tf.Tensor => t !== null));
    const apply: LinearParams['apply'] = (x, w, b) => withBias(tf.mul(x, w), b);
    return add({ type: 'linear', layerName: layer.name, className: 'BatchNormalization', inputs,
      forward: ([x]) => apply(x, scale, shift), linear: { kind: 'affine', weight: scale, bias: shift, apply } });
  },
  ReLU: (layer, config, inputs, add) => {
    const max = config.maxValue;
    check(max === null || max === undefined || max === 6, `layer '${layer.name}' (ReLU) has maxValue ${String(max)}; explain supports none or 6`);
    return activationOp(layer, max === 6 ? 'relu6' : 'relu', inputs[0], add);
  },
  Activation: (layer, config, inputs, add) => activationOp(layer, String(config.activation), inputs[0], add),
  Softmax: (layer, _config, inputs, add) => activationOp(layer, 'softmax', inputs[0], add),
  MaxPooling2D: (layer, config, inputs, add) => {
    const { size, strides, pad } = poolWindow(layer, config);
    return add({ type: 'route', layerName: layer.name, className: 'MaxPooling2D', inputs,
      forward: ([x]) => tf.maxPool(x as tf.Tensor4D, size, strides, pad) });
  },
  GlobalMaxPooling2D: (layer, config, inputs, add) => {
    channelsLast(layer, config);
    return add({ type: 'route', layerName: layer.name, className: 'GlobalMaxPooling2D', inputs,
      forward: ([x]) => tf.max(x, [1, 2]) });
  },
  AveragePooling2D: (layer, config, inputs, add) => {
    const { size, strides, pad } = poolWindow(layer, config);
    return add({ type: 'pool', layerName: layer.name, className: 'AveragePooling2D', inputs,
      forward: ([x]) => tf.avgPool(x as tf.Tensor4D, size, strides, pad) });
  },
  GlobalAveragePooling2D: (layer, config, inputs, add) => {
    channelsLast(layer, config);
    return add({ type: 'pool', layerName: layer.name, className: 'GlobalAveragePooling2D', inputs,
      forward: ([x]) => tf.mean(x, [1, 2]) });
  },
  Flatten: (layer, _config, inputs, add) => add({ type: 'route', layerName: layer.name, className: 'Flatten', inputs,
    forward: ([x]) => tf.reshape(x, [x.shape[0], -1]) }),
  Reshape: (layer, config, inputs, add) => {
    const target = (config.targetShape as number[]).map(Number);
    return add({ type: 'route', layerName: layer.name, className: 'Reshape', inputs,
      forward: ([x]) => tf.reshape(x, [x.shape[0], ...target]) });
  },
  Dropout: (layer, _config, inputs, add) => add({ type: 'route', layerName: layer.name, className: 'Dropout', inputs,
    forward: ([x]) => tf.clone(x) }),
  ZeroPadding2D: (layer, config, inputs, add) => {
    channelsLast(layer, config);
    const p = config.padding as [[number, number], [number, number]];
    return add({ type: 'route', layerName: layer.name, className: 'ZeroPadding2D', inputs,
      forward: ([x]) => tf.pad(x, [[0, 0], p[0], p[1], [0, 0]]) });
  },
  Concatenate: (layer, config, inputs, add) => {
    const axis = Number(config.axis ?? -1);
    return add({ type: 'route', layerName: layer.name, className: 'Concatenate', inputs,
      forward: (xs) => tf.concat(xs, axis) });
  },
  Add: (layer, _config, inputs, add) => add({ type: 'add', layerName: layer.name, className: 'Add', inputs,
    forward: (xs) => tf.addN(xs) }),
};

/**
 * Walks the model's graph from its output back through each symbolic tensor's producing layer and
 * inputs, so Sequential and functional models (branches, residual Adds, Concatenates) are handled alike.
 */
export function buildGraph(model: tf.LayersModel): Graph {
  check(model.inputs.length === 1 && model.outputs.length === 1,
    `explain needs a model with one input and one output (this one has ${model.inputs.length} and ${model.outputs.length})`);
  const ops: GraphOp[] = [];
  const add: AddOp = (op) => {
    ops.push({ ...op, id: ops.length });
    return ops.length - 1;
  };
  const done = new Map<number, number>();
  const visit = (st: tf.SymbolicTensor): number => {
    const seen = done.get(st.id);
    if (seen !== undefined) return seen;
    const layer = st.sourceLayer;
    const className = layer.getClassName();
    let id: number;
    if (className === 'InputLayer') {
      check(ops.length === 0 || ops[0].type !== 'input', 'explain needs a model with one input');
      id = add({ type: 'input', layerName: layer.name, className, inputs: [], forward: ([x]) => x });
    } else {
      const converter = converters[className];
      if (!converter) {
        throw new KilnError(`layer '${layer.name}' of type ${className} is not supported by explain ` +
          `(supported: ${SUPPORTED_LAYERS.filter((n) => n !== 'InputLayer').join(', ')})`);
      }
      const inputs = st.inputs.map(visit);
      id = converter(layer, layer.getConfig() as Config, inputs, add);
    }
    done.set(st.id, id);
    return id;
  };
  // The input is visited first so that it is ops[0].
  visit(model.inputs[0]);
  visit(model.outputs[0]);
  return { ops, inputShape: model.inputs[0].shape.slice(1) as number[] };
}

/** Forward pass keeping every op's output (the reverse pass needs them all). */
export function forwardAll(graph: Graph, x: tf.Tensor): tf.Tensor[] {
  const acts: tf.Tensor[] = [];
  for (const op of graph.ops) {
    acts[op.id] = op.type === 'input' ? x : op.forward(op.inputs.map((i) => acts[i]));
  }
  return acts;
}

export function forward(graph: Graph, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const acts = forwardAll(graph, x);
    return acts[acts.length - 1];
  });
}

export function disposeGraph(graph: Graph): void {
  for (const op of graph.ops) {
    if (op.linear) tf.dispose([op.linear.weight, ...(op.linear.bias ? [op.linear.bias] : [])]);
  }
}

/** Indices of the ops that consume each op's output. */
export function consumers(graph: Graph): number[][] {
  const out: number[][] = graph.ops.map(() => []);
  for (const op of graph.ops) for (const i of op.inputs) out[i].push(op.id);
  return out;
}
