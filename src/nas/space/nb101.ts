import { createHash } from 'node:crypto';
import { KilnError } from '../../core/index.js';
import { flipOneDecision, oneHot, uniformValues } from './common.js';
import type { Architecture, CellGraph, Decision, SearchSpace } from './types.js';

/** The three NAS-Bench-101 intermediate-node ops, in the benchmark's own order. */
export const NB101_OPS = ['conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3'] as const;
export const NB101_NODES = 7;
export const NB101_MAX_EDGES = 9;

/** Upper-triangular edge slots (from, to), row-major: 21 for 7 nodes. */
const EDGE_SLOTS: [number, number][] = [];
for (let i = 0; i < NB101_NODES; i++) for (let j = i + 1; j < NB101_NODES; j++) EDGE_SLOTS.push([i, j]);
const INNER = NB101_NODES - 2;

const decisions: Decision[] = [
  ...EDGE_SLOTS.map(([i, j]) => ({ name: `edge_${i}->${j}`, choices: ['0', '1'] })),
  ...Array.from({ length: INNER }, (_, k) => ({ name: `op_${k + 1}`, choices: NB101_OPS })),
];

/** A cell as NAS-Bench-101 stores it: adjacency[i][j] = 1 for i -> j, ops with 'input'/'output' at the ends. */
export interface Nb101Cell {
  adjacency: number[][];
  ops: string[];
}

export function nb101Cell(a: Architecture): Nb101Cell {
  const adjacency = Array.from({ length: NB101_NODES }, () => new Array<number>(NB101_NODES).fill(0));
  EDGE_SLOTS.forEach(([i, j], e) => (adjacency[i][j] = a.values[e]));
  const ops = ['input', ...a.values.slice(EDGE_SLOTS.length).map((v) => NB101_OPS[v]), 'output'];
  return { adjacency, ops };
}

/** Reads a cell in NAS-Bench-101's matrix + ops form (as in data/nb101/nb101-sample500.json). */
export function nb101FromCell(cell: Nb101Cell): Architecture {
  const { adjacency, ops } = cell;
  if (adjacency.length !== NB101_NODES || adjacency.some((row) => row.length !== NB101_NODES)) {
    throw new KilnError(`NAS-Bench-101 cell needs a ${NB101_NODES}x${NB101_NODES} adjacency matrix`);
  }
  for (let i = 0; i < NB101_NODES; i++) {
    for (let j = 0; j <= i; j++) {
      if (adjacency[i][j]) throw new KilnError(`NAS-Bench-101 adjacency must be upper triangular (edge ${i}->${j})`);
    }
  }
  if (ops.length !== NB101_NODES || ops[0] !== 'input' || ops[NB101_NODES - 1] !== 'output') {
    throw new KilnError(`NAS-Bench-101 ops must be 7 long, 'input' first and 'output' last`);
  }
  const opValues = ops.slice(1, -1).map((op) => {
    const v = NB101_OPS.indexOf(op as (typeof NB101_OPS)[number]);
    if (v < 0) throw new KilnError(`unknown NAS-Bench-101 op '${op}' (known: ${NB101_OPS.join(', ')})`);
    return v;
  });
  return { values: [...EDGE_SLOTS.map(([i, j]) => (adjacency[i][j] ? 1 : 0)), ...opValues] };
}

/**
 * The nodes on some input -> output path, as NAS-Bench-101's ModelSpec prunes them: other
 * nodes and their edges do not change the network. Empty when output is unreachable.
 */
export function nb101Kept(a: Architecture): number[] {
  const { adjacency } = nb101Cell(a);
  const fromInput = new Set([0]);
  for (let i = 0; i < NB101_NODES; i++) {
    if (fromInput.has(i)) for (let j = i + 1; j < NB101_NODES; j++) if (adjacency[i][j]) fromInput.add(j);
  }
  const toOutput = new Set([NB101_NODES - 1]);
  for (let i = NB101_NODES - 2; i >= 0; i--) {
    for (let j = i + 1; j < NB101_NODES; j++) if (adjacency[i][j] && toOutput.has(j)) toOutput.add(i);
  }
  if (!fromInput.has(NB101_NODES - 1)) return [];
  return [...Array(NB101_NODES).keys()].filter((v) => fromInput.has(v) && toOutput.has(v));
}

/** The pruned cell: only nodes on an input -> output path. */
export function nb101Pruned(a: Architecture): Nb101Cell {
  const kept = nb101Kept(a);
  const cell = nb101Cell(a);
  return {
    adjacency: kept.map((i) => kept.map((j) => cell.adjacency[i][j])),
    ops: kept.map((i) => cell.ops[i]),
  };
}

/** NAS-Bench-101's rule: after pruning, input reaches output through at most 9 edges. */
function isValid(a: Architecture): boolean {
  if (a.values.length !== decisions.length) return false;
  if (!a.values.every((v, i) => Number.isInteger(v) && v >= 0 && v < decisions[i].choices.length)) return false;
  const pruned = nb101Pruned(a);
  if (pruned.ops.length === 0) return false;
  return pruned.adjacency.flat().reduce((s, x) => s + x, 0) <= NB101_MAX_EDGES;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/**
 * Isomorphism-invariant fingerprint of the pruned cell, NAS-Bench-101's graph_util.hash_module
 * (the benchmark's module hash, byte for byte): node labels (out-degree, in-degree, op) refined
 * over neighbours for as many rounds as nodes.
 */
export function nb101GraphHash(cell: Nb101Cell): string {
  const n = cell.ops.length;
  const label = (op: string) => (op === 'input' ? -1 : op === 'output' ? -2 : NB101_OPS.indexOf(op as never));
  const inDeg = (v: number) => cell.adjacency.reduce((s, row) => s + row[v], 0);
  const outDeg = (v: number) => cell.adjacency[v].reduce((s, x) => s + x, 0);
  let hashes = cell.ops.map((op, v) => md5(`(${outDeg(v)}, ${inDeg(v)}, ${label(op)})`));
  for (let round = 0; round < n; round++) {
    hashes = hashes.map((h, v) => {
      const ins = hashes.filter((_, w) => cell.adjacency[w][v]).sort().join('');
      const outs = hashes.filter((_, w) => cell.adjacency[v][w]).sort().join('');
      return md5(`${ins}|${outs}|${h}`);
    });
  }
  return md5(`[${[...hashes].sort().map((h) => `'${h}'`).join(', ')}]`);
}

function toString(a: Architecture): string {
  const bits = a.values.slice(0, EDGE_SLOTS.length).join('');
  const ops = a.values.slice(EDGE_SLOTS.length).map((v) => NB101_OPS[v]).join(',');
  return `${bits}|${ops}`;
}

function parse(s: string): Architecture {
  const bad = (why: string) => new KilnError(`malformed NAS-Bench-101 architecture '${s}': ${why}`);
  const [bits, ops, ...rest] = s.trim().split('|');
  if (ops === undefined || rest.length) throw bad(`expected '<21 edge bits>|<5 comma-separated ops>'`);
  if (!new RegExp(`^[01]{${EDGE_SLOTS.length}}$`).test(bits)) throw bad(`edge part must be ${EDGE_SLOTS.length} 0/1 digits`);
  const opNames = ops.split(',');
  if (opNames.length !== INNER) throw bad(`expected ${INNER} ops, got ${opNames.length}`);
  const opValues = opNames.map((op) => {
    const v = NB101_OPS.indexOf(op as (typeof NB101_OPS)[number]);
    if (v < 0) throw bad(`unknown op '${op}' (known: ${NB101_OPS.join(', ')})`);
    return v;
  });
  const a = { values: [...[...bits].map(Number), ...opValues] };
  if (!isValid(a)) throw bad(`not a valid cell (input must reach output with at most ${NB101_MAX_EDGES} edges after pruning)`);
  return a;
}

/** Pruned cell padded back to 7 nodes: removed nodes get no edges and no op feature. */
function graph(a: Architecture): CellGraph {
  const featureNames = ['input', ...NB101_OPS, 'output'];
  const kept = new Set(nb101Kept(a));
  const cell = nb101Cell(a);
  const n = NB101_NODES;
  const adjacency = new Float32Array(n * n);
  const features = new Float32Array(n * featureNames.length);
  for (let i = 0; i < n; i++) {
    if (!kept.has(i)) continue;
    features[i * featureNames.length + featureNames.indexOf(cell.ops[i])] = 1;
    for (let j = 0; j < n; j++) if (kept.has(j) && cell.adjacency[i][j]) adjacency[i * n + j] = 1;
  }
  return { nodes: n, adjacency, features, featureNames };
}

/** Rejection sampling keeps the draws uniform over the valid raw specs, as NAS-Bench-101's random_spec does. */
function sample(rng: Parameters<SearchSpace['sample']>[0]): Architecture {
  for (;;) {
    const a = { values: uniformValues(decisions, rng) };
    if (isValid(a)) return a;
  }
}

/**
 * One decision changed, retried until the result is valid and (when some flip allows it)
 * a different network; an op flip on a kept node always is, so the loop ends quickly.
 */
function mutate(a: Architecture, rng: Parameters<SearchSpace['mutate']>[1]): Architecture {
  const key = nb101GraphHash(nb101Pruned(a));
  let neutral: Architecture | undefined;
  for (let attempt = 0; attempt < 200; attempt++) {
    const b = flipOneDecision(decisions, a, rng);
    if (!isValid(b)) continue;
    if (nb101GraphHash(nb101Pruned(b)) !== key) return b;
    neutral ??= b;
  }
  if (neutral) return neutral;
  throw new Error('nb101 mutate: no valid one-decision neighbour found');
}

/** A JSON table record: `adjacency` (7x7 0/1) and `ops` as in data/nb101/nb101-sample500.json. */
function fromRecord(record: Readonly<Record<string, unknown>>): Architecture {
  const { adjacency, ops } = record;
  const isMatrix = Array.isArray(adjacency) && adjacency.every((row) => Array.isArray(row) && row.every((x) => x === 0 || x === 1));
  if (!isMatrix || !Array.isArray(ops) || !ops.every((op) => typeof op === 'string')) {
    throw new KilnError(`a NAS-Bench-101 record needs 'adjacency' (0/1 matrix) and 'ops' (strings)`);
  }
  const a = nb101FromCell({ adjacency: adjacency as number[][], ops: ops as string[] });
  if (!isValid(a)) throw new KilnError(`not a valid cell (input must reach output with at most ${NB101_MAX_EDGES} edges after pruning)`);
  return a;
}

export const nb101Space: SearchSpace = {
  name: 'nb101',
  description: 'NAS-Bench-101 cell: 7-node DAG, <= 9 edges, 3 ops (conv3x3, conv1x1, maxpool)',
  decisions,
  sample,
  mutate,
  isValid,
  encode: (a) => oneHot(decisions, a),
  graph,
  toString,
  parse,
  key: (a) => nb101GraphHash(nb101Pruned(a)),
  fromRecord,
};
