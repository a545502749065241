import { createRng } from '../core/index.js';

/**
 * Writes small ONNX models as protobuf bytes by hand (no python, no onnx package): enough of the
 * ModelProto schema for a graph of standard operators with float initialisers. Kiln uses it to
 * build the tiny feature extractors committed as test fixtures (tools/build-storybench-onnx.mjs);
 * real evaluations load a user's own Inception / I3D / CLIP export instead.
 */

// ---- protobuf wire format -------------------------------------------------------------------

class Writer {
  private parts: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5);
    for (const x of b) this.parts.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

// ---- ONNX schema pieces -----------------------------------------------------------------------

const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

export type Dim = number | string;
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number[]>;
  int?: Record<string, number>;
}
export interface OnnxGraph {
  name: string;
  inputs: { name: string; shape: Dim[] }[];
  outputs: { name: string; shape: Dim[] }[];
  initializers: { name: string; dims: number[]; values: Float32Array }[];
  nodes: OnnxNode[];
}

function valueInfo(name: string, shape: Dim[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensor = new Writer().int(1, FLOAT).message(2, dims);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensor));
}

export function encodeModel(g: OnnxGraph, opset = 13): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, k) => {
    const node = new Writer();
    n.inputs.forEach((s) => node.string(1, s));
    n.outputs.forEach((s) => node.string(2, s));
    node.string(3, `${n.op.toLowerCase()}_${k}`).string(4, n.op);
    for (const [name, v] of Object.entries(n.int ?? {})) node.message(5, new Writer().string(1, name).int(3, v).int(20, ATTR_INT));
    for (const [name, vs] of Object.entries(n.ints ?? {})) {
      const a = new Writer().string(1, name);
      vs.forEach((v) => a.int(8, v));
      node.message(5, a.int(20, ATTR_INTS));
    }
    graph.message(1, node);
  });
  graph.string(2, g.name);
  for (const init of g.initializers) {
    const t = new Writer();
    init.dims.forEach((d) => t.int(1, d));
    t.int(2, FLOAT).string(8, init.name);
    t.bytes(9, new Uint8Array(init.values.buffer, init.values.byteOffset, init.values.byteLength));
    graph.message(5, t);
  }
  g.inputs.forEach((i) => graph.message(11, valueInfo(i.name, i.shape)));
  g.outputs.forEach((o) => graph.message(12, valueInfo(o.name, o.shape)));
  return new Writer()
    .int(1, 8) // IR version 8
    .string(2, 'kiln')
    .string(3, '0.1.0')
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, opset))
    .finish();
}

// ---- the tiny feature models -------------------------------------------------------------------

function heWeights(rng: ReturnType<typeof createRng>, dims: number[]): Float32Array {
  const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
  const w = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * Math.sqrt(2 / fanIn);
  return w;
}

/**
 * Per-frame features: input `frames` [N, H, W, 3] RGB in [0, 1] -> `features` [N, 19]: the mean
 * colour (3) followed by 16 globally pooled channels of two random strided 3x3 convolutions.
 */
export function tinyFrameModel(seed = 1): Uint8Array {
  const rng = createRng(seed);
  return encodeModel({
    name: 'kiln-tiny-frame-features',
    inputs: [{ name: 'frames', shape: ['N', 'H', 'W', 3] }],
    outputs: [{ name: 'features', shape: ['N', 19] }],
    initializers: [
      { name: 'w1', dims: [8, 3, 3, 3], values: heWeights(rng, [8, 3, 3, 3]) },
      { name: 'b1', dims: [8], values: new Float32Array(8).fill(0.05) },
      { name: 'w2', dims: [16, 8, 3, 3], values: heWeights(rng, [16, 8, 3, 3]) },
      { name: 'b2', dims: [16], values: new Float32Array(16).fill(0.05) },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['frames'], outputs: ['x'], ints: { perm: [0, 3, 1, 2] } },
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], ints: { strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], ints: { strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['gx'] },
      { op: 'GlobalAveragePool', inputs: ['r2'], outputs: ['g2'] },
      { op: 'Flatten', inputs: ['gx'], outputs: ['fx'], int: { axis: 1 } },
      { op: 'Flatten', inputs: ['g2'], outputs: ['f2'], int: { axis: 1 } },
      { op: 'Concat', inputs: ['fx', 'f2'], outputs: ['features'], int: { axis: 1 } },
    ],
  });
}

/**
 * Per-video features: input `video` [N, T, H, W, 3] RGB in [0, 1] -> `features` [N, 19]: the mean
 * colour (3) followed by 16 pooled channels of two random spatio-temporal 3x3x3 convolutions.
 */
export function tinyVideoModel(seed = 2): Uint8Array {
  const rng = createRng(seed);
  const conv = { strides: [1, 2, 2], pads: [1, 1, 1, 1, 1, 1], kernel_shape: [3, 3, 3] };
  return encodeModel({
    name: 'kiln-tiny-video-features',
    inputs: [{ name: 'video', shape: ['N', 'T', 'H', 'W', 3] }],
    outputs: [{ name: 'features', shape: ['N', 19] }],
    initializers: [
      { name: 'w1', dims: [8, 3, 3, 3, 3], values: heWeights(rng, [8, 3, 3, 3, 3]) },
      { name: 'b1', dims: [8], values: new Float32Array(8).fill(0.05) },
      { name: 'w2', dims: [16, 8, 3, 3, 3], values: heWeights(rng, [16, 8, 3, 3, 3]) },
      { name: 'b2', dims: [16], values: new Float32Array(16).fill(0.05) },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['video'], outputs: ['x'], ints: { perm: [0, 4, 1, 2, 3] } },
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], ints: conv },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], ints: conv },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['gx'] },
      { op: 'GlobalAveragePool', inputs: ['r2'], outputs: ['g2'] },
      { op: 'Flatten', inputs: ['gx'], outputs: ['fx'], int: { axis: 1 } },
      { op: 'Flatten', inputs: ['g2'], outputs: ['f2'], int: { axis: 1 } },
      { op: 'Concat', inputs: ['fx', 'f2'], outputs: ['features'], int: { axis: 1 } },
    ],
  });
}
