import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRng, dataPath, KilnError } from '../src/core/index.js';
import { parseCsv } from '../src/data/index.js';
import {
  getSpace, loadTable, nb101FromCell, nb101Cell, nb101GraphHash, nb101Pruned, nb201Space, nb101Space, spaces, tableFromJson,
  NB101_MAX_EDGES, type Architecture, type Nb101Cell, type SearchSpace,
} from '../src/nas/index.js';

const differences = (a: Architecture, b: Architecture) => a.values.filter((v, i) => v !== b.values[i]).length;

test('every NAS-Bench-201 table string parses and prints back identically', () => {
  const rows = parseCsv(fs.readFileSync(dataPath('nb201', 'nb201-cifar10.csv'), 'utf8')).map((r) => r.cells);
  const at = rows[0].indexOf('arch');
  const strings = rows.slice(1).map((r) => r[at]);
  assert.equal(strings.length, 15625);
  for (const s of strings) assert.equal(nb201Space.toString(nb201Space.parse(s)), s);
  assert.equal(new Set(strings.map((s) => nb201Space.key(nb201Space.parse(s)))).size, 15625);
});

test('nb201 rejects malformed strings with a KilnError', () => {
  const good = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  for (const bad of [
    '', good.replace('nor_conv_3x3~0|+', 'nor_conv_3x3~0+'), good.replace('avg_pool_3x3', 'max_pool_3x3'),
    good.replace('skip_connect~2', 'skip_connect~1'), good + '+|none~0|', '|none~0|+|none~0|+|none~0|none~1|none~2|',
  ]) {
    assert.throws(() => nb201Space.parse(bad), KilnError, bad);
  }
});

test('nb201 decisions, one-hot and graph encodings', () => {
  assert.equal(nb201Space.decisions.length, 6);
  assert.ok(nb201Space.decisions.every((d) => d.choices.length === 5));
  const a = nb201Space.parse('|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|');
  const x = nb201Space.encode(a);
  assert.equal(x.length, 30);
  assert.equal(x.reduce((s, v) => s + v, 0), 6);
  assert.equal(x[3], 1); // edge 1<-0 = nor_conv_3x3 (index 3)
  const g = nb201Space.graph(a);
  assert.equal(g.nodes, 8);
  const edge = (i: number, j: number) => g.adjacency[i * g.nodes + j];
  assert.equal(edge(0, 1), 1); // input -> edge(1<-0)
  assert.equal(edge(1, 3), 1); // edge(1<-0) -> edge(2<-1)
  assert.equal(edge(3, 7), 0); // edge(2<-1) ends in node 2, not the output
  assert.equal(edge(6, 7), 1); // edge(3<-2) -> output
  assert.equal(edge(3, 6), 1); // edge(2<-1) -> edge(3<-2)
  // 3 from the input, 1<-0 feeds 2 readers of node 1, two edges into node 2 feed 3<-2, 3 into the output
  assert.equal(g.adjacency.reduce((s, v) => s + v, 0), 3 + 2 + 2 + 3);
  assert.equal(g.features.reduce((s, v) => s + v, 0), 8);
});

function checkSampleAndMutate(space: SearchSpace) {
  const rng = createRng(3);
  for (let k = 0; k < 200; k++) {
    const a = space.sample(rng);
    assert.ok(space.isValid(a));
    assert.deepEqual(space.parse(space.toString(a)), a);
    const b = space.mutate(a, rng);
    assert.ok(space.isValid(b));
    assert.equal(differences(a, b), 1, 'mutation changes exactly one decision');
  }
}

test('every registered space samples valid architectures and mutates one decision', () => {
  assert.ok(['nb101', 'nb201'].every((n) => spaces.names().includes(n)), spaces.names().join());
  for (const name of spaces.names()) checkSampleAndMutate(getSpace(name));
  assert.throws(() => getSpace('darts'), /unknown search space 'darts' \(known: nb201, nb101/);
});

test('sampling nb201 is uniform over ops', () => {
  const rng = createRng(7);
  const counts = new Array(5).fill(0);
  for (let k = 0; k < 5000; k++) nb201Space.sample(rng).values.forEach((v) => counts[v]++);
  for (const c of counts) assert.ok(Math.abs(c / 30000 - 0.2) < 0.015, String(counts));
});

const nb101Cells = (): Nb101Cell[] => JSON.parse(fs.readFileSync(dataPath('nb101', 'nb101-sample500.json'), 'utf8')).cells;

test('all 500 NAS-Bench-101 sample cells are valid and round-trip', () => {
  for (const cell of nb101Cells()) {
    const a = nb101FromCell(cell);
    assert.ok(nb101Space.isValid(a));
    assert.deepEqual(nb101Cell(a), { adjacency: cell.adjacency, ops: cell.ops });
    assert.deepEqual(nb101Space.parse(nb101Space.toString(a)), a);
    assert.equal(nb101Space.encode(a).length, 21 * 2 + 5 * 3);
    const pruned = nb101Pruned(a);
    assert.ok(pruned.adjacency.flat().reduce((s, x) => s + x, 0) <= NB101_MAX_EDGES);
  }
});

test('nb101 keys identify the same network: pruned, isomorphism-invariant', () => {
  // Cells that prune to input -> output share one network, and the table agrees (same params).
  const cells = nb101Cells();
  const trivial = cells.filter((c) => nb101Pruned(nb101FromCell(c)).ops.length === 2);
  assert.ok(trivial.length > 1);
  assert.equal(new Set(trivial.map((c) => nb101Space.key(nb101FromCell(c)))).size, 1);
  assert.equal(new Set(trivial.map((c) => (c as unknown as { params_m: number }).params_m)).size, 1);
  // Swapping two independent parallel branches relabels nodes but keeps the network.
  const z = () => Array.from({ length: 7 }, () => new Array(7).fill(0));
  const branchy = (first: string, second: string): Nb101Cell => {
    const adjacency = z();
    adjacency[0][1] = adjacency[0][2] = adjacency[1][6] = adjacency[2][6] = 1;
    return { adjacency, ops: ['input', first, second, 'maxpool3x3', 'maxpool3x3', 'maxpool3x3', 'output'] };
  };
  const k1 = nb101Space.key(nb101FromCell(branchy('conv3x3-bn-relu', 'conv1x1-bn-relu')));
  const k2 = nb101Space.key(nb101FromCell(branchy('conv1x1-bn-relu', 'conv3x3-bn-relu')));
  const k3 = nb101Space.key(nb101FromCell(branchy('conv1x1-bn-relu', 'conv1x1-bn-relu')));
  assert.equal(k1, k2);
  assert.notEqual(k1, k3);
});

test('nb101 keys are NAS-Bench-101\'s module hashes of the pruned cell', () => {
  // Hashes computed by nasbench's own graph_util.hash_module after ModelSpec's pruning.
  const cells = nb101Cells();
  assert.equal(nb101GraphHash({ adjacency: [[0, 1], [0, 0]], ops: ['input', 'output'] }), '043721b9c7fe8c5fad811d47d83132ec');
  assert.equal(nb101Space.key(nb101FromCell(cells[0])), '4a0ab8bbe2441a002e07b0f445ec2d63');
  assert.equal(nb101Space.key(nb101FromCell(cells[1])), 'd3ce4b357bab991e98b34e3a8722b3bb');
});

test('the NAS-Bench-101 sample loads as a table of 292 distinct models from 500 cells', () => {
  const file = dataPath('nb101', 'nb101-sample500.json');
  const table = loadTable(file, nb101Space);
  assert.equal(table.listed, 500);
  assert.equal(table.size, 292);
  assert.equal(new Set(table.archs.map((a) => nb101Space.key(a))).size, 292);
  assert.deepEqual([...table.columns], ['val_acc', 'params_m', 'flops_m']);
  // The 55 cells that prune to input -> output are one row holding their mean accuracy.
  const cells = nb101Cells() as (Nb101Cell & { val_acc: number })[];
  const trivial = cells.filter((c) => nb101Pruned(nb101FromCell(c)).ops.length === 2);
  assert.equal(trivial.length, 55);
  const row = table.rowOf(nb101FromCell(trivial[0]));
  const mean = trivial.reduce((s, c) => s + c.val_acc, 0) / trivial.length;
  assert.ok(Math.abs(table.column('val_acc')[row] - mean) < 1e-9);
  // A record may also name its cell by the space's string; bad records say which one.
  const a = table.archs[0];
  const byString = tableFromJson(JSON.stringify([{ arch: nb101Space.toString(a), acc: 1 }]), nb101Space, 'mini.json');
  assert.equal(byString.rowOf(a), 0);
  assert.throws(() => tableFromJson('{"cells": []}', nb101Space, 'e.json'), /e.json is empty/);
  assert.throws(() => tableFromJson('{"cells": [{"ops": []}]}', nb101Space, 'b.json'), /b.json record 1: .*adjacency/);
  assert.throws(() => tableFromJson('{"rows": 1}', nb101Space, 'r.json'), /'cells' array/);
  assert.throws(() => tableFromJson('[{"acc": 1}]', nb201Space, 'n.json'), /record 1: no architecture string 'arch'/);
  assert.throws(() => tableFromJson('{', nb101Space, 'x.json'), /not valid JSON/);
});

test('nb101 validity: the edge limit counts pruned edges; output must be reachable', () => {
  const chain = Array.from({ length: 7 }, () => new Array(7).fill(0));
  for (let i = 0; i < 6; i++) chain[i][i + 1] = 1; // 6 edges
  const ops = ['input', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3', 'output'];
  const cell = (m: number[][]) => nb101FromCell({ adjacency: m, ops });
  assert.ok(nb101Space.isValid(cell(chain)));
  const ten = chain.map((r) => [...r]);
  ten[0][2] = ten[0][3] = ten[0][4] = ten[1][3] = 1; // 10 edges, all on paths
  assert.equal(nb101Space.isValid(cell(ten)), false);
  const cut = chain.map((r) => [...r]);
  cut[2][3] = 0;
  assert.equal(nb101Space.isValid(cell(cut)), false);
  assert.throws(() => nb101Space.parse(nb101Space.toString(cell(ten))), /at most 9 edges/);
  assert.throws(() => nb101FromCell({ adjacency: chain, ops: ops.map((o) => (o === 'maxpool3x3' ? 'avgpool3x3' : o)) }), KilnError);
  const lower = chain.map((r) => [...r]);
  lower[3][1] = 1;
  assert.throws(() => nb101FromCell({ adjacency: lower, ops }), /upper triangular/);
});
