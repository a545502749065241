import { KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import { convertLayer, handledClasses, type LayerHandlers, type Padding, type Pair } from '../layer-table.js';
import { encodeModel, type OnnxGraph, type OnnxInitializer, type OnnxNode } from './graph.js';

/**
 * tfjs LayersModel -> ONNX. The exported graph takes the same NHWC (or other-rank) input as the tfjs
 * model and gives the same output; inside, rank-4 tensors are NCHW (ONNX's Conv layout), with one
 * Transpose after the input and one before any Flatten so flattening order matches tfjs.
 * Supported layers are the ones Kiln's builders, supernet children and SSDLite detectors use; anything else is a
 * KilnError naming the layer, never a silently wrong graph.
 */

export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';

interface Emitter {
  /** The graph input as the layers see it (NCHW after the input transpose for images). */
  input: Value;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  /** Fresh tensor name. */
  fresh(hint: string): string;
  constant(name: string, dims: number[], values: Float32Array | BigInt64Array): string;
}

/** Tensors in the graph: ONNX name and whether it is a rank-4 NCHW tensor. */
interface Value {
  name: string;
  nchw: boolean;
}

/** Emits one layer's nodes given its inputs; returns its output. */
type Exporters = LayerHandlers<[inputs: Value[], e: Emitter], Value>;

/** [kh, kw, in, out] (tfjs) -> [out, in, kh, kw] (ONNX). */
function convKernel(w: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) {
    out[((o * cin + c) * kh + i) * kw + j] = w[((i * kw + j) * cin + c) * cout + o];
  }
  return out;
}

function activation(name: string, x: Value, e: Emitter): Value {
  const unary: Record<string, string> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', elu: 'Elu', selu: 'Selu', softplus: 'Softplus' };
  if (name === 'linear') return x;
  const out = e.fresh(name);
  if (unary[name]) {
    e.nodes.push({ op: unary[name], inputs: [x.name], outputs: [out] });
  } else if (name === 'relu6') {
    const lo = e.constant(e.fresh('zero'), [], new Float32Array([0]));
    const hi = e.constant(e.fresh('six'), [], new Float32Array([6]));
    e.nodes.push({ op: 'Clip', inputs: [x.name, lo, hi], outputs: [out] });
  } else if (name === 'swish') {
    const s = e.fresh('sigmoid');
    e.nodes.push({ op: 'Sigmoid', inputs: [x.name], outputs: [s] }, { op: 'Mul', inputs: [x.name, s], outputs: [out] });
  } else if (name === 'softmax') {
    if (x.nchw) throw new KilnError('ONNX export: softmax over a 4-D feature map is not supported');
    e.nodes.push({ op: 'Softmax', inputs: [x.name], outputs: [out], int: { axis: -1 } });
  } else {
    throw new KilnError(`ONNX export: activation '${name}' is not supported`);
  }
  return { name: out, nchw: x.nchw };
}

/** TF 'same' padding = ONNX SAME_UPPER (the extra pixel goes at the end); 'valid' = no padding. */
function autoPad(padding: Padding): Record<string, string> {
  return padding === 'same' ? { auto_pad: 'SAME_UPPER' } : { auto_pad: 'VALID' };
}

function noDilation(layer: tf.layers.Layer, dilations: Pair): void {
  if (dilations.some((d) => d !== 1)) throw new KilnError(`ONNX export: layer '${layer.name}' uses dilation, which is not supported`);
}

const data = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

/** A global pooling over height and width, flattened to [N, C] as tfjs gives it. */
function globalPool(op: string, layer: tf.layers.Layer, x: Value, e: Emitter): Value {
  const pooled = e.fresh(`${layer.name}/pool`);
  const out = e.fresh(layer.name);
  e.nodes.push({ op, inputs: [x.name], outputs: [pooled] }, { op: 'Flatten', inputs: [pooled], outputs: [out], int: { axis: 1 } });
  return { name: out, nchw: false };
}

const EXPORTERS: Exporters = {
  input: (_spec, _layer, _inputs, e) => e.input,
  dense({ kernel, bias, activation: act }, layer, [x], e) {
    if (x.nchw || (layer.input as tf.SymbolicTensor).rank !== 2) throw new KilnError(`ONNX export: Dense layer '${layer.name}' on a tensor of rank above 2 (add Flatten first)`);
    const [cin, units] = kernel.shape;
    const out = e.fresh(layer.name);
    const w = e.constant(`${layer.name}/kernel`, [cin, units], data(kernel));
    const b = e.constant(`${layer.name}/bias`, [units], bias ? data(bias) : new Float32Array(units));
    e.nodes.push({ op: 'Gemm', inputs: [x.name, w, b], outputs: [out] });
    return activation(act, { name: out, nchw: false }, e);
  },
  conv2d({ kernel, bias, activation: act, conv }, layer, [x], e) {
    noDilation(layer, conv.dilations);
    const shape = kernel.shape as number[];
    const out = e.fresh(layer.name);
    const w = e.constant(`${layer.name}/kernel`, [shape[3], shape[2], shape[0], shape[1]], convKernel(data(kernel), shape));
    const inputs = [x.name, w];
    if (bias) inputs.push(e.constant(`${layer.name}/bias`, [shape[3]], data(bias)));
    e.nodes.push({ op: 'Conv', inputs, outputs: [out], ints: { kernel_shape: [shape[0], shape[1]], strides: conv.strides }, string: autoPad(conv.padding) });
    return activation(act, { name: out, nchw: true }, e);
  },
  depthwise({ kernel, bias, activation: act, conv }, layer, [x], e) {
    noDilation(layer, conv.dilations);
    const [kh, kw, cin, mult] = kernel.shape;
    // tfjs output channel c * mult + m comes from input channel c: ONNX's grouped conv order.
    const out = e.fresh(layer.name);
    const w = e.constant(`${layer.name}/kernel`, [cin * mult, 1, kh, kw], convKernel(data(kernel), [kh, kw, 1, cin * mult]));
    const inputs = [x.name, w];
    if (bias) inputs.push(e.constant(`${layer.name}/bias`, [cin * mult], data(bias)));
    e.nodes.push({
      op: 'Conv', inputs, outputs: [out],
      int: { group: cin }, ints: { kernel_shape: [kh, kw], strides: conv.strides }, string: autoPad(conv.padding),
    });
    return activation(act, { name: out, nchw: true }, e);
  },
  batchnorm({ mean, variance, gamma, beta, epsilon }, layer, [x], e) {
    const channels = mean.size;
    const out = e.fresh(layer.name);
    const params = [
      ['gamma', gamma ? data(gamma) : new Float32Array(channels).fill(1)], ['beta', beta ? data(beta) : new Float32Array(channels)],
      ['mean', data(mean)], ['var', data(variance)],
    ] as const;
    e.nodes.push({
      op: 'BatchNormalization',
      inputs: [x.name, ...params.map(([n, v]) => e.constant(`${layer.name}/${n}`, [channels], v))],
      outputs: [out],
      float: { epsilon },
    });
    return { name: out, nchw: x.nchw };
  },
  activation: (spec, _layer, [x], e) => activation(spec.activation, x, e),
  add(_spec, layer, inputs, e) {
    let acc = inputs[0];
    for (const next of inputs.slice(1)) {
      const out = e.fresh(layer.name);
      e.nodes.push({ op: 'Add', inputs: [acc.name, next.name], outputs: [out] });
      acc = { name: out, nchw: acc.nchw };
    }
    return acc;
  },
  globalavgpool: (_spec, layer, [x], e) => globalPool('GlobalAveragePool', layer, x, e),
  globalmaxpool: (_spec, layer, [x], e) => globalPool('GlobalMaxPool', layer, x, e),
  maxpool({ window: w }, layer, [x], e) {
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'MaxPool', inputs: [x.name], outputs: [out], ints: { kernel_shape: w.size, strides: w.strides }, string: autoPad(w.padding) });
    return { name: out, nchw: true };
  },
  avgpool({ window: w }, layer, [x], e) {
    if (w.padding === 'same') throw new KilnError(`ONNX export: AveragePooling2D '${layer.name}' with 'same' padding is not supported`);
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'AveragePool', inputs: [x.name], outputs: [out], ints: { kernel_shape: w.size, strides: w.strides } });
    return { name: out, nchw: true };
  },
  flatten(_spec, layer, [x], e) {
    const src = x.nchw ? toNhwc(x.name, layer, e) : x.name;
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'Flatten', inputs: [src], outputs: [out], int: { axis: 1 } });
    return { name: out, nchw: false };
  },
  dropout: (_spec, _layer, [x]) => x,
  reshape({ targetShape }, layer, [x], e) {
    // tfjs reshapes NHWC in row-major order: go back to NHWC first, and to NCHW after a reshape to an image.
    const src = x.nchw ? toNhwc(x.name, layer, e) : x.name;
    const shape = e.constant(`${layer.name}/shape`, [targetShape.length + 1], BigInt64Array.from([0, ...targetShape], BigInt)); // 0: keep the batch
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'Reshape', inputs: [src, shape], outputs: [out] });
    if (targetShape.length !== 3) return { name: out, nchw: false };
    const nchw = e.fresh(`${layer.name}/nchw`);
    e.nodes.push({ op: 'Transpose', inputs: [out], outputs: [nchw], ints: { perm: [0, 3, 1, 2] } });
    return { name: nchw, nchw: true };
  },
  concat({ axis }, layer, inputs, e) {
    const nchw = inputs[0].nchw;
    if (inputs.some((v) => v.nchw !== nchw)) throw new KilnError(`ONNX export: Concatenate '${layer.name}' joins image and flat tensors`);
    const rank = (layer.input as tf.SymbolicTensor[])[0].rank;
    const a = axis < 0 ? axis + rank : axis;
    const out = e.fresh(layer.name);
    // A tfjs NHWC axis (batch, row, column, channel) is NCHW axis 0, 2, 3, 1.
    e.nodes.push({ op: 'Concat', inputs: inputs.map((v) => v.name), outputs: [out], int: { axis: nchw ? [0, 2, 3, 1][a] : a } });
    return { name: out, nchw };
  },
  // Not exported (no Kiln builder or supernet child uses it): stated here so the table test sees it.
  zeropad: null,
};

function toNhwc(name: string, layer: tf.layers.Layer, e: Emitter): string {
  const out = e.fresh(`${layer.name}/nhwc`);
  e.nodes.push({ op: 'Transpose', inputs: [name], outputs: [out], ints: { perm: [0, 2, 3, 1] } });
  return out;
}

/** Layer class names the exporter handles. */
export const ONNX_EXPORTABLE_LAYERS: readonly string[] = handledClasses(EXPORTERS);

/**
 * The ONNX graph of a single-input, single-output LayersModel whose layers are each applied once.
 * Input `input` [N, ...tfjs input shape], output `output` [N, ...].
 */
export function toOnnxGraph(model: tf.LayersModel, name = model.name): OnnxGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new KilnError(`ONNX export needs one input and one output (model '${model.name}' has ${model.inputs.length} and ${model.outputs.length})`);
  }
  const inShape = model.inputs[0].shape.slice(1) as number[];
  const outShape = model.outputs[0].shape.slice(1) as number[];
  let input: Value = { name: ONNX_INPUT, nchw: false };
  const nodes: OnnxNode[] = [];
  let counter = 0;
  const fresh = (hint: string) => `${hint}:${counter++}`;
  if (inShape.length === 3) {
    const t = fresh('nchw');
    nodes.push({ op: 'Transpose', inputs: [ONNX_INPUT], outputs: [t], ints: { perm: [0, 3, 1, 2] } });
    input = { name: t, nchw: true };
  }
  const e: Emitter = {
    input,
    nodes,
    initializers: [],
    fresh,
    constant(cname, dims, values) {
      e.initializers.push({ name: cname, dims, values });
      return cname;
    },
  };
  const values = new Map<string, Value>();
  let last = input;
  for (const layer of model.layers) {
    if (layer.inboundNodes.length !== 1) throw new KilnError(`ONNX export: layer '${layer.name}' is applied ${layer.inboundNodes.length} times`);
    const inputs = layer.inboundNodes[0].inboundLayers.map((l) => {
      const v = values.get(l.name);
      if (!v) throw new KilnError(`ONNX export: layer '${layer.name}' reads '${l.name}', which is not exported before it`);
      return v;
    });
    last = convertLayer('ONNX export', EXPORTERS, layer, inputs, e);
    values.set(layer.name, last);
  }
  if (last.nchw) {
    e.nodes.push({ op: 'Transpose', inputs: [last.name], outputs: [ONNX_OUTPUT], ints: { perm: [0, 2, 3, 1] } });
  } else {
    e.nodes.push({ op: 'Identity', inputs: [last.name], outputs: [ONNX_OUTPUT] });
  }
  return {
    name,
    inputs: [{ name: ONNX_INPUT, shape: ['N', ...inShape] }],
    outputs: [{ name: ONNX_OUTPUT, shape: ['N', ...outShape] }],
    initializers: e.initializers,
    nodes: e.nodes,
  };
}

/** ONNX ModelProto bytes of `model` (opset 13). */
export function exportOnnx(model: tf.LayersModel): Uint8Array {
  return encodeModel(toOnnxGraph(model));
}
