import { KilnError, check } from '../core/index.js';
import { tf } from '../backend/index.js';
import { convertLayer, handledClasses, type ConvSettings, type LayerHandlers, type LayerSpec } from '../nn/index.js';

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

export type ConvGeometry = ConvSettings;

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

type AddOp = (op: Omit<GraphOp, 'id'>) => number;
/** Converts one layer into ops given its inputs' op ids; returns its output's op id. */
type Converters = LayerHandlers<[inputs: number[], add: AddOp], number>;

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

/** A linear op on copies of the layer's kernel and bias, then its fused activation (if any). */
function kernelOp(spec: Extract<LayerSpec, { kind: 'dense' | 'conv2d' | 'depthwise' }>, kind: LinearKind, apply: LinearParams['apply'],
  layer: tf.layers.Layer, inputs: number[], add: AddOp): number {
  const weight = tf.clone(spec.kernel);
  const bias = spec.bias ? tf.clone(spec.bias) : null;
  const linear: LinearParams = { kind, weight, bias, apply, conv: spec.kind === 'dense' ? undefined : spec.conv };
  const id = add({ type: 'linear', layerName: layer.name, className: layer.getClassName(), inputs,
    forward: ([x]) => apply(x, weight, bias), linear });
  return activationOp(layer, spec.activation, id, add);
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

/** One op of the given type that computes `forward`, for layers without parameters. */
function op(type: OpType, layer: tf.layers.Layer, inputs: number[], add: AddOp, forward: GraphOp['forward']): number {
  return add({ type, layerName: layer.name, className: layer.getClassName(), inputs, forward });
}

const converters: Converters = {
  input: (_spec, layer, inputs, add) => op('input', layer, inputs, add, ([x]) => x),
  dense: (spec, layer, inputs, add) => kernelOp(spec, 'dense', denseApply, layer, inputs, add),
  conv2d: (spec, layer, inputs, add) => {
    const { strides, padding, dilations } = spec.conv;
    return kernelOp(spec, 'conv2d', (x, w, b) =>
      withBias(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, padding, 'NHWC', dilations), b), layer, inputs, add);
  },
  depthwise: (spec, layer, inputs, add) => {
    const { strides, padding, dilations } = spec.conv;
    return kernelOp(spec, 'depthwise', (x, w, b) =>
      withBias(tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, padding, 'NHWC', dilations), b), layer, inputs, add);
  },
  batchnorm: ({ mean, variance, gamma, beta, epsilon }, layer, inputs, add) => {
    // Inference-mode BN is the affine map x * scale + shift, per channel.
    const scale = tf.tidy(() => {
      const s = tf.rsqrt(tf.add(variance, epsilon));
      return gamma ? tf.mul(s, gamma) : s;
    });
    const shift = tf.tidy(() => {
      const t = tf.neg(tf.mul(mean, scale));
      return beta ? tf.add(t, beta) : t;
    });
    const apply: LinearParams['apply'] = (x, w, b) => withBias(tf.mul(x, w), b);
    return add({ type: 'linear', layerName: layer.name, className: layer.getClassName(), inputs,
      forward: ([x]) => apply(x, scale, shift), linear: { kind: 'affine', weight: scale, bias: shift, apply } });
  },
  activation: (spec, layer, inputs, add) => activationOp(layer, spec.activation, inputs[0], add),
  maxpool: ({ window: w }, layer, inputs, add) => op('route', layer, inputs, add, ([x]) => tf.maxPool(x as tf.Tensor4D, w.size, w.strides, w.padding)),
  globalmaxpool: (_spec, layer, inputs, add) => op('route', layer, inputs, add, ([x]) => tf.max(x, [1, 2])),
  avgpool: ({ window: w }, layer, inputs, add) => op('pool', layer, inputs, add, ([x]) => tf.avgPool(x as tf.Tensor4D, w.size, w.strides, w.padding)),
  globalavgpool: (_spec, layer, inputs, add) => op('pool', layer, inputs, add, ([x]) => tf.mean(x, [1, 2])),
  flatten: (_spec, layer, inputs, add) => op('route', layer, inputs, add, ([x]) => tf.reshape(x, [x.shape[0], -1])),
  reshape: ({ targetShape }, layer, inputs, add) => op('route', layer, inputs, add, ([x]) => tf.reshape(x, [x.shape[0], ...targetShape])),
  dropout: (_spec, layer, inputs, add) => op('route', layer, inputs, add, ([x]) => tf.clone(x)),
  zeropad: ({ padding: [h, w] }, layer, inputs, add) => op('route', layer, inputs, add, ([x]) => tf.pad(x, [[0, 0], h, w, [0, 0]])),
  concat: ({ axis }, layer, inputs, add) => op('route', layer, inputs, add, (xs) => tf.concat(xs, axis)),
  add: (_spec, layer, inputs, add) => op('add', layer, inputs, add, (xs) => tf.addN(xs)),
};

/** Layer classes explain converts (every entry of nn's layer table). */
export const SUPPORTED_LAYERS: readonly string[] = handledClasses(converters);

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
    const id = convertLayer('explain', converters, st.sourceLayer, st.inputs.map(visit), add);
    check(id === 0 || ops[id].type !== 'input', 'explain needs a model with one input');
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
