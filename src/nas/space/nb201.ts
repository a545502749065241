import { KilnError } from '../../core/index.js';
import { flipOneDecision, oneHot, uniformValues } from './common.js';
import type { Architecture, CellGraph, Decision, SearchSpace } from './types.js';

/** The five NAS-Bench-201 edge ops, in the benchmark's own order. */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** The cell's 6 edges (to <- from) in the order the architecture string lists them. */
export const NB201_EDGES: readonly (readonly [to: number, from: number])[] = [
  [1, 0], [2, 0], [2, 1], [3, 0], [3, 1], [3, 2],
];

const decisions: Decision[] = NB201_EDGES.map(([to, from]) => ({ name: `edge_${to}<-${from}`, choices: NB201_OPS }));

/** Ops of `a` by edge, in NB201_EDGES order. */
export function nb201Ops(a: Architecture): Nb201Op[] {
  return a.values.map((v) => NB201_OPS[v]);
}

function toString(a: Architecture): string {
  const ops = nb201Ops(a);
  const nodes: string[] = [];
  let e = 0;
  for (let to = 1; to <= 3; to++) {
    const edges: string[] = [];
    for (let from = 0; from < to; from++) edges.push(`${ops[e++]}~${from}`);
    nodes.push(`|${edges.join('|')}|`);
  }
  return nodes.join('+');
}

function parse(s: string): Architecture {
  const bad = (why: string) => new KilnError(`malformed NAS-Bench-201 architecture '${s}': ${why}`);
  const nodes = s.trim().split('+');
  if (nodes.length !== 3) throw bad(`expected 3 nodes separated by '+', got ${nodes.length}`);
  const values: number[] = [];
  nodes.forEach((node, i) => {
    const to = i + 1;
    if (!node.startsWith('|') || !node.endsWith('|')) throw bad(`node ${to} must be wrapped in '|'`);
    const edges = node.slice(1, -1).split('|');
    if (edges.length !== to) throw bad(`node ${to} needs ${to} input edges, got ${edges.length}`);
    edges.forEach((edge, from) => {
      const [op, input] = edge.split('~');
      const v = NB201_OPS.indexOf(op as Nb201Op);
      if (v < 0) throw bad(`unknown op '${op}' (known: ${NB201_OPS.join(', ')})`);
      if (input !== String(from)) throw bad(`edge ${from + 1} of node ${to} must read from node ${from}, got '${input}'`);
      values.push(v);
    });
  });
  return { values };
}

/**
 * Ops live on edges in NB201, so the graph form turns every edge into an op node
 * (as NASLib and arch2vec do): input, the 6 edge nodes, output. An edge node (to<-from)
 * reads the edge nodes that end in `from` (or the input when from = 0); the output
 * reads the edges that end in node 3.
 */
function graph(a: Architecture): CellGraph {
  const featureNames = ['input', ...NB201_OPS, 'output'];
  const n = NB201_EDGES.length + 2;
  const out = n - 1;
  const adjacency = new Float32Array(n * n);
  const features = new Float32Array(n * featureNames.length);
  features[0] = 1;
  features[out * featureNames.length + featureNames.length - 1] = 1;
  NB201_EDGES.forEach(([to, from], e) => {
    const node = e + 1;
    features[node * featureNames.length + 1 + a.values[e]] = 1;
    if (from === 0) adjacency[node] = 1;
    NB201_EDGES.forEach(([to2], e2) => {
      if (to2 === from) adjacency[(e2 + 1) * n + node] = 1;
    });
    if (to === 3) adjacency[node * n + out] = 1;
  });
  return { nodes: n, adjacency, features, featureNames };
}

export const nb201Space: SearchSpace = {
  name: 'nb201',
  description: 'NAS-Bench-201 cell: 6 edges x 5 ops (15,625 cells)',
  decisions,
  sample: (rng) => ({ values: uniformValues(decisions, rng) }),
  mutate: (a, rng) => flipOneDecision(decisions, a, rng),
  isValid: (a) => a.values.length === decisions.length && a.values.every((v) => Number.isInteger(v) && v >= 0 && v < NB201_OPS.length),
  encode: (a) => oneHot(decisions, a),
  graph,
  toString,
  parse,
  key: toString,
};
