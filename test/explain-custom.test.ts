import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../src/backend/index.js';
import {
  composites, createAnalyzer, epsilonRule, gammaRule, inputTimesVjp, listComposites, stabilizedDivide,
  type Composite, type CompositeParams, type Graph, type GraphOp, type Rule,
} from '../src/explain/index.js';

/**
 * Extending explain from outside: a rule and a composite written against the explain face only
 * (tf for the arithmetic), checked against the same method computed by hand with plain loops.
 */

before(async () => {
  await initBackend();
});

/**
 * The original gamma rule (Montavon et al. 2019) for non-negative inputs, without bias: positive
 * weights are boosted, w' = w + gamma w+, and relevance follows x_i w'_ij / sum_i x_i w'_ij.
 * (Kiln ships Zennit's generalized version as gammaRule; on active ReLU units they agree.)
 */
function originalGammaRule(gamma: number, stabilizer = 0): Rule {
  return {
    name: `gamma(${gamma})`,
    apply: (layer, x, relevance) => {
      const w = tf.add(layer.weight, tf.mul(tf.relu(layer.weight), gamma));
      const z = layer.apply(x, w, null);
      return inputTimesVjp(layer, w, x, stabilizedDivide(relevance, z, stabilizer));
    },
  };
}

/** Gamma on the first linear layer of the model, LRP-0 (z rule with bias) on every later one. */
function gammaFirst(gamma: number): Composite {
  const z = epsilonRule(0, true);
  const first = originalGammaRule(gamma);
  return (op: GraphOp, graph: Graph) => (op.id === graph.ops.find((o) => o.type === 'linear')!.id ? first : z);
}

// dense 3 -> 2 (relu), dense 2 -> 2; weights [in, out].
const W1 = [[0.5, -1], [-0.25, 0.75], [1, 0.5]];
const B1 = [0.1, -0.2];
const W2 = [[1.5, -0.5], [-1, 2]];
const B2 = [0.3, -0.1];
const X = [0.8, 0.4, 0.6];
const GAMMA = 0.25;

function model(): tf.LayersModel {
  return tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [3], units: 2, activation: 'relu', weights: [tf.tensor2d(W1), tf.tensor1d(B1)] }),
    tf.layers.dense({ units: 2, weights: [tf.tensor2d(W2), tf.tensor1d(B2)] }),
  ] });
}

/** The same method with loops: z rule on layer 2 for output `k`, ReLU passes relevance, gamma on layer 1. */
function byHand(k: number): number[] {
  const h = [0, 1].map((j) => Math.max(0, B1[j] + X.reduce((s, xi, i) => s + xi * W1[i][j], 0)));
  const y = B2[k] + h.reduce((s, hj, j) => s + hj * W2[j][k], 0);
  const rHidden = h.map((hj, j) => (hj * W2[j][k] * y) / y);
  const boosted = (i: number, j: number): number => W1[i][j] + GAMMA * Math.max(W1[i][j], 0);
  const z = [0, 1].map((j) => X.reduce((s, xi, i) => s + xi * boosted(i, j), 0));
  return X.map((xi, i) => [0, 1].reduce((s, j) => (z[j] === 0 ? s : s + (xi * boosted(i, j) * rHidden[j]) / z[j]), 0));
}

test('a custom rule and composite written against the explain face match a hand computation', () => {
  const x = tf.tensor2d([X]);
  const expected = byHand(0);
  assert.ok(expected.every((v) => v !== 0), 'every input should get relevance');
  const r = createAnalyzer('lrp', model(), { composite: gammaFirst(GAMMA) }).explain(x, { neuronSelection: 'index', index: 0 });
  assert.deepEqual(r.neuron, [0]);
  const got = r.relevance.dataSync();
  expected.forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-6, `input ${i}: ${got[i]}, by hand ${v}`));
  // Gamma differs from the z rule it generalises (gamma = 0), so the rule was really used.
  const plain = createAnalyzer('lrp', model(), { composite: () => epsilonRule(0, true) }).analyze(x, { neuronSelection: 'index', index: 0 });
  assert.ok(Math.abs(plain.dataSync()[0] - got[0]) > 1e-3);
  // Kiln's generalized gamma without bias gives the same where the units it explains are active.
  const shipped = gammaRule(GAMMA, { bias: false });
  const z = epsilonRule(0, true);
  const kiln = createAnalyzer('lrp', model(), { composite: (op: GraphOp, graph: Graph) => (op.id === graph.ops.find((o) => o.type === 'linear')!.id ? shipped : z) })
    .analyze(x, { neuronSelection: 'index', index: 0 }).dataSync();
  expected.forEach((v, i) => assert.ok(Math.abs(kiln[i] - v) < 1e-6, `gammaRule, input ${i}: ${kiln[i]}, by hand ${v}`));
});

test('a custom composite registered by name is listed and chosen by name', () => {
  composites.register('gamma-first', (p: CompositeParams) => gammaFirst(p.epsilon), 'gamma (by the epsilon parameter) on the first layer');
  assert.ok(listComposites().some((c) => c.name === 'gamma-first'));
  const x = tf.tensor2d([X]);
  const got = createAnalyzer('lrp', model(), { composite: 'gamma-first', epsilon: GAMMA }).analyze(x, { neuronSelection: 'index', index: 0 });
  const expected = byHand(0);
  expected.forEach((v, i) => assert.ok(Math.abs(got.dataSync()[i] - v) < 1e-6, `input ${i}: ${got.dataSync()[i]}, by hand ${v}`));
});
