import { ProtoWriter } from './protobuf.js';

/**
 * ONNX graphs as plain data, and their ModelProto encoding: standard operators, float tensors,
 * float and int64 initializers (int64 for shape inputs such as Reshape's), and int / ints / float /
 * string attributes. Both the tfjs exporter and
 * StoryBench's hand-built fixture models write through `encodeModel`.
 */

const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

export type Dim = number | string;

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number[]>;
  int?: Record<string, number>;
  float?: Record<string, number>;
  string?: Record<string, string>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  values: Float32Array | BigInt64Array;
}

export interface OnnxGraph {
  name: string;
  inputs: { name: string; shape: Dim[] }[];
  outputs: { name: string; shape: Dim[] }[];
  initializers: OnnxInitializer[];
  nodes: OnnxNode[];
}

function valueInfo(name: string, shape: Dim[]): ProtoWriter {
  const dims = new ProtoWriter();
  for (const d of shape) dims.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensor = new ProtoWriter().int(1, FLOAT).message(2, dims);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensor));
}

function encodeNode(n: OnnxNode, k: number): ProtoWriter {
  const node = new ProtoWriter();
  n.inputs.forEach((s) => node.string(1, s));
  n.outputs.forEach((s) => node.string(2, s));
  node.string(3, `${n.op.toLowerCase()}_${k}`).string(4, n.op);
  // Attribute order (int, ints, float, string) is fixed so committed fixtures stay byte-identical.
  for (const [name, v] of Object.entries(n.int ?? {})) node.message(5, new ProtoWriter().string(1, name).int(3, v).int(20, ATTR_INT));
  for (const [name, vs] of Object.entries(n.ints ?? {})) {
    const a = new ProtoWriter().string(1, name);
    vs.forEach((v) => a.int(8, v));
    node.message(5, a.int(20, ATTR_INTS));
  }
  for (const [name, v] of Object.entries(n.float ?? {})) node.message(5, new ProtoWriter().string(1, name).float(2, v).int(20, ATTR_FLOAT));
  for (const [name, v] of Object.entries(n.string ?? {})) {
    node.message(5, new ProtoWriter().string(1, name).bytes(4, new TextEncoder().encode(v)).int(20, ATTR_STRING));
  }
  return node;
}

/** Serializes `g` as an ONNX ModelProto (IR version 8, default domain at `opset`). */
export function encodeModel(g: OnnxGraph, opset = 13): Uint8Array {
  const graph = new ProtoWriter();
  g.nodes.forEach((n, k) => graph.message(1, encodeNode(n, k)));
  graph.string(2, g.name);
  for (const init of g.initializers) {
    const t = new ProtoWriter();
    init.dims.forEach((d) => t.int(1, d));
    t.int(2, init.values instanceof BigInt64Array ? INT64 : FLOAT).string(8, init.name);
    t.bytes(9, new Uint8Array(init.values.buffer, init.values.byteOffset, init.values.byteLength));
    graph.message(5, t);
  }
  g.inputs.forEach((i) => graph.message(11, valueInfo(i.name, i.shape)));
  g.outputs.forEach((o) => graph.message(12, valueInfo(o.name, o.shape)));
  return new ProtoWriter()
    .int(1, 8) // IR version 8
    .string(2, 'kiln')
    .string(3, '0.1.0')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, opset))
    .finish();
}
