import { KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import { encodeModel, type OnnxGraph, type OnnxInitializer, type OnnxNode } from './graph.js';

/**
 * tfjs LayersModel -> ONNX. The exported graph takes the same NHWC (or flat) input as the tfjs
 * model and gives the same output; inside, rank-4 tensors are NCHW (ONNX's Conv layout), with one
 * Transpose after the input and one before any Flatten so flattening order matches tfjs.
 * Supported layers are the ones Kiln's builders and supernet children use; anything else is a
 * KilnError naming the layer, never a silently wrong graph.
 */

export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';

interface Emitter {
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  /** Fresh tensor name. */
  fresh(hint: string): string;
  constant(name: string, dims: number[], values: Float32Array): string;
}

/** Tensors in the graph: ONNX name and whether it is a rank-4 NCHW tensor. */
interface Value {
  name: string;
  nchw: boolean;
}

type LayerExporter = (layer: tf.layers.Layer, inputs: Value[], e: Emitter) => Value;

function weights(layer: tf.layers.Layer): Float32Array[] {
  return layer.getWeights().map((w) => w.dataSync() as Float32Array);
}

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
function padding(config: tf.serialization.ConfigDict): Record<string, string> {
  return config.padding === 'same' ? { auto_pad: 'SAME_UPPER' } : { auto_pad: 'VALID' };
}

function pair(v: unknown): number[] {
  return Array.isArray(v) ? (v as number[]) : [v as number, v as number];
}

function checkDefaults(layer: tf.layers.Layer, config: tf.serialization.ConfigDict): void {
  const dilation = pair(config.dilationRate ?? 1);
  if (dilation.some((d) => d !== 1)) throw new KilnError(`ONNX export: layer '${layer.name}' uses dilation, which is not supported`);
  if (config.dataFormat && config.dataFormat !== 'channelsLast') {
    throw new KilnError(`ONNX export: layer '${layer.name}' is not channelsLast`);
  }
}

const EXPORTERS: Record<string, LayerExporter> = {
  Dense(layer, [x], e) {
    if (x.nchw) throw new KilnError(`ONNX export: Dense layer '${layer.name}' on a 4-D tensor (add Flatten first)`);
    const c = layer.getConfig();
    const [kernel, bias] = weights(layer);
    const [cin, units] = layer.getWeights()[0].shape;
    const out = e.fresh(layer.name);
    const w = e.constant(`${layer.name}/kernel`, [cin, units], kernel);
    const b = e.constant(`${layer.name}/bias`, [units], bias ?? new Float32Array(units));
    e.nodes.push({ op: 'Gemm', inputs: [x.name, w, b], outputs: [out] });
    return activation(c.activation as string, { name: out, nchw: false }, e);
  },
  Conv2D(layer, [x], e) {
    const c = layer.getConfig();
    checkDefaults(layer, c);
    const shape = layer.getWeights()[0].shape as number[];
    const [kernel, bias] = weights(layer);
    const out = e.fresh(layer.name);
    const w = e.constant(`${layer.name}/kernel`, [shape[3], shape[2], shape[0], shape[1]], convKernel(kernel, shape));
    const inputs = [x.name, w];
    if (bias) inputs.push(e.constant(`${layer.name}/bias`, [shape[3]], bias));
    e.nodes.push({ op: 'Conv', inputs, outputs: [out], ints: { kernel_shape: [shape[0], shape[1]], strides: pair(c.strides) }, string: padding(c) });
    return activation(c.activation as string, { name: out, nchw: true }, e);
  },
  DepthwiseConv2D(layer, [x], e) {
    const c = layer.getConfig();
    checkDefaults(layer, c);
    const [kh, kw, cin, mult] = layer.getWeights()[0].shape;
    const [kernel, bias] = weights(layer);
    // tfjs output channel c * mult + m comes from input channel c: ONNX's grouped conv order.
    const out = e.fresh(layer.name);
    const w = e.constant(`${layer.name}/kernel`, [cin * mult, 1, kh, kw], convKernel(kernel, [kh, kw, 1, cin * mult]));
    const inputs = [x.name, w];
    if (bias) inputs.push(e.constant(`${layer.name}/bias`, [cin * mult], bias));
    e.nodes.push({
      op: 'Conv', inputs, outputs: [out],
      int: { group: cin }, ints: { kernel_shape: [kh, kw], strides: pair(c.strides) }, string: padding(c),
    });
    return activation(c.activation as string, { name: out, nchw: true }, e);
  },
  BatchNormalization(layer, [x], e) {
    const c = layer.getConfig();
    const axis = c.axis as number;
    if (axis !== -1 && axis !== (x.nchw ? 3 : 1)) throw new KilnError(`ONNX export: BatchNormalization '${layer.name}' must normalize the last axis`);
    const ws = weights(layer);
    const channels = ws[ws.length - 1].length;
    let k = 0;
    const gamma = c.scale ? ws[k++] : new Float32Array(channels).fill(1);
    const beta = c.center ? ws[k++] : new Float32Array(channels);
    const [mean, variance] = [ws[k], ws[k + 1]];
    const out = e.fresh(layer.name);
    e.nodes.push({
      op: 'BatchNormalization',
      inputs: [x.name, ...([['gamma', gamma], ['beta', beta], ['mean', mean], ['var', variance]] as const)
        .map(([n, v]) => e.constant(`${layer.name}/${n}`, [channels], v))],
      outputs: [out],
      float: { epsilon: c.epsilon as number },
    });
    return { name: out, nchw: x.nchw };
  },
  Activation(layer, [x], e) {
    return activation(layer.getConfig().activation as string, x, e);
  },
  ReLU(layer, [x], e) {
    const max = layer.getConfig().maxValue as number | null | undefined;
    if (max === 6) return activation('relu6', x, e);
    if (max != null) throw new KilnError(`ONNX export: ReLU '${layer.name}' with maxValue ${max} is not supported`);
    return activation('relu', x, e);
  },
  Add(layer, inputs, e) {
    let acc = inputs[0];
    for (const next of inputs.slice(1)) {
      const out = e.fresh(layer.name);
      e.nodes.push({ op: 'Add', inputs: [acc.name, next.name], outputs: [out] });
      acc = { name: out, nchw: acc.nchw };
    }
    return acc;
  },
  GlobalAveragePooling2D(layer, [x], e) {
    const pooled = e.fresh(`${layer.name}/pool`);
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'GlobalAveragePool', inputs: [x.name], outputs: [pooled] },
      { op: 'Flatten', inputs: [pooled], outputs: [out], int: { axis: 1 } });
    return { name: out, nchw: false };
  },
  MaxPooling2D(layer, [x], e) {
    const c = layer.getConfig();
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'MaxPool', inputs: [x.name], outputs: [out], ints: { kernel_shape: pair(c.poolSize), strides: pair(c.strides ?? c.poolSize) }, string: padding(c) });
    return { name: out, nchw: true };
  },
  AveragePooling2D(layer, [x], e) {
    const c = layer.getConfig();
    if (c.padding === 'same') throw new KilnError(`ONNX export: AveragePooling2D '${layer.name}' with 'same' padding is not supported`);
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'AveragePool', inputs: [x.name], outputs: [out], ints: { kernel_shape: pair(c.poolSize), strides: pair(c.strides ?? c.poolSize) } });
    return { name: out, nchw: true };
  },
  Flatten(layer, [x], e) {
    let src = x.name;
    if (x.nchw) {
      src = e.fresh(`${layer.name}/nhwc`);
      e.nodes.push({ op: 'Transpose', inputs: [x.name], outputs: [src], ints: { perm: [0, 2, 3, 1] } });
    }
    const out = e.fresh(layer.name);
    e.nodes.push({ op: 'Flatten', inputs: [src], outputs: [out], int: { axis: 1 } });
    return { name: out, nchw: false };
  },
  Dropout: (_layer, [x]) => x,
};

/** Layer class names the exporter handles. */
export const ONNX_EXPORTABLE_LAYERS: readonly string[] = Object.keys(EXPORTERS);

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
  let counter = 0;
  const e: Emitter = {
    nodes: [],
    initializers: [],
    fresh: (hint) => `${hint}:${counter++}`,
    constant(cname, dims, values) {
      e.initializers.push({ name: cname, dims, values });
      return cname;
    },
  };
  const values = new Map<string, Value>();
  let input: Value = { name: ONNX_INPUT, nchw: false };
  if (inShape.length === 3) {
    const t = e.fresh('nchw');
    e.nodes.push({ op: 'Transpose', inputs: [ONNX_INPUT], outputs: [t], ints: { perm: [0, 3, 1, 2] } });
    input = { name: t, nchw: true };
  } else if (inShape.length !== 1) {
    throw new KilnError(`ONNX export supports flat or [height, width, channels] inputs, not [${inShape}]`);
  }
  const inputLayer = model.inputs[0].sourceLayer.name;
  values.set(inputLayer, input);
  let last = input;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new KilnError(`ONNX export: layer '${layer.name}' is applied ${layer.inboundNodes.length} times`);
    const exporter = EXPORTERS[layer.getClassName()];
    if (!exporter) {
      throw new KilnError(`ONNX export: layer '${layer.name}' of type ${layer.getClassName()} is not supported (supported: ${ONNX_EXPORTABLE_LAYERS.join(', ')})`);
    }
    const inputs = layer.inboundNodes[0].inboundLayers.map((l) => {
      const v = values.get(l.name);
      if (!v) throw new KilnError(`ONNX export: layer '${layer.name}' reads '${l.name}', which is not exported before it`);
      return v;
    });
    last = exporter(layer, inputs, e);
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
