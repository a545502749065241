import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { attacks, fooled, perturbationNorms, projectOntoHyperplane, type Classifier } from '../src/robust/index.js';

before(async () => {
  await initBackend();
});

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const norms = {
  linf: (d: Float32Array) => Math.max(...d.map(Math.abs)),
  l2: (d: Float32Array) => Math.sqrt(dot(d, d)),
  l1: (d: Float32Array) => d.reduce((s, v) => s + Math.abs(v), 0),
};

test('the projection away from the box is the closed-form minimal-norm move for Linf, L2 and L1', () => {
  const rng = createRng(1);
  const D = 12;
  for (let trial = 0; trial < 20; trial++) {
    const t = Float32Array.from({ length: D }, () => 0.4 + 0.2 * rng.next());
    const w = Float32Array.from({ length: D }, () => rng.normal());
    const c = 0.01 * (rng.next() + 0.5) * (rng.next() < 0.5 ? -1 : 1); // small: the box is not reached
    const b = dot(w, t) - c;
    const d = new Float32Array(D);
    const l1 = w.reduce((s, v) => s + Math.abs(v), 0);
    const l2 = dot(w, w);
    const top = w.reduce((m, v, i) => (Math.abs(v) > Math.abs(w[m]) ? i : m), 0);
    // Linf: -c sign(w) / ||w||_1; L2: -c w / ||w||_2^2; L1: the largest |w_i| alone, -c / w_i.
    projectOntoHyperplane('linf', t, w, b, d);
    d.forEach((v, i) => assert.ok(Math.abs(v + (c * Math.sign(w[i])) / l1) < 1e-6, `linf trial ${trial}`));
    projectOntoHyperplane('l2', t, w, b, d);
    d.forEach((v, i) => assert.ok(Math.abs(v + (c * w[i]) / l2) < 1e-6, `l2 trial ${trial}`));
    projectOntoHyperplane('l1', t, w, b, d);
    d.forEach((v, i) => assert.ok(Math.abs(v - (i === top ? -c / w[top] : 0)) < 1e-6, `l1 trial ${trial}`));
  }
});

test('near the box the projection lands on the hyperplane inside [0, 1], no longer than any other such move', () => {
  const rng = createRng(2);
  const D = 8;
  for (let trial = 0; trial < 30; trial++) {
    const t = Float32Array.from({ length: D }, () => (rng.next() < 0.3 ? Math.round(rng.next()) : rng.next()));
    const w = Float32Array.from({ length: D }, () => rng.normal());
    const b = dot(w, t) + 0.5 * rng.normal();
    for (const norm of ['linf', 'l2', 'l1'] as const) {
      const d = new Float32Array(D);
      projectOntoHyperplane(norm, t, w, b, d);
      const z = t.map((v, i) => v + d[i]);
      assert.ok(z.every((v) => v >= -1e-6 && v <= 1 + 1e-6), `${norm}: left the box`);
      const reached = Math.abs(dot(w, z) - b) < 1e-4;
      // Random feasible competitors: points of the box on the hyperplane, found along random rays.
      for (let k = 0; k < 200 && reached; k++) {
        const e = Float32Array.from({ length: D }, () => rng.normal());
        const along = dot(w, e);
        if (Math.abs(along) < 1e-6) continue;
        const s = (b - dot(w, t)) / along;
        const other = t.map((v, i) => v + s * e[i]);
        if (other.some((v) => v < 0 || v > 1)) continue;
        assert.ok(norms[norm](d) <= norms[norm](e.map((v) => v * s)) + 1e-5, `${norm}: a shorter move exists`);
      }
      if (!reached) {
        // Unreachable: every coordinate at the bound on the hyperplane's side.
        const side = Math.sign(b - dot(w, t));
        z.forEach((v, i) => assert.ok(Math.abs(v - (side * w[i] > 0 ? 1 : 0)) < 1e-6, `${norm}: not at the corner`));
      }
    }
  }
});

const H = 4;
const W = 4;
const D = H * W;

/**
 * A linear two-class score s(x) = w.x + b (random Gaussian w) padded with two hopeless classes:
 * the smallest perturbation that flips the class is |s(x)| / ||w||_dual (the box is far enough away).
 */
function linearModel(seed: number): { model: Classifier; x: tf.Tensor4D; y: tf.Tensor1D; minimal: { linf: number[]; l2: number[]; l1: number[] } } {
  const rng = createRng(seed);
  const w = Float32Array.from({ length: D }, () => rng.normal());
  const n = 6;
  const xs = Float32Array.from({ length: n * D }, () => 0.5 + (rng.next() - 0.5) * 0.1);
  const wt = tf.tensor2d(w, [D, 1]);
  const plain = Array.from({ length: n }, (_, i) => dot(w, xs.subarray(i * D, (i + 1) * D)));
  const b = -plain.reduce((a, v) => a + v, 0) / n + 0.3; // margins small enough that even L1 moves stay in the box
  const model: Classifier = (x) => tf.tidy(() => {
    const s = x.reshape([-1, D]).matMul(wt).add(b);
    return tf.concat([s, s.neg(), tf.fill([x.shape[0], 1], -50), tf.fill([x.shape[0], 1], -50)], 1) as tf.Tensor2D;
  });
  // The score is s - (-s) = 2s between the two live classes: the boundary is s = 0.
  const l1 = w.reduce((a, v) => a + Math.abs(v), 0);
  const l2 = Math.sqrt(dot(w, w));
  const top = w.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  const margins = plain.map((v) => Math.abs(v + b));
  return {
    model, x: tf.tensor4d(xs, [n, H, W, 1]), y: tf.tensor1d(plain.map((v) => (v + b > 0 ? 0 : 1)), 'int32'),
    minimal: { linf: margins.map((m) => m / l1), l2: margins.map((m) => m / l2), l1: margins.map((m) => m / top) },
  };
}

const count = (model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D) => tf.tidy(() => fooled(model, x, y).sum()).dataSync()[0];

test('FAB and FAB-T find every example within 2% above its minimal distance, none below it, in Linf, L2 and L1', () => {
  const { model, x, y, minimal } = linearModel(3);
  const cases = [['fab', 'linf'], ['fab-t', 'linf'], ['fab-l2', 'l2'], ['fab-t-l2', 'l2'], ['fab-l1', 'l1'], ['fab-t-l1', 'l1']] as const;
  for (const [name, norm] of cases) {
    const over = Math.max(...minimal[norm]) * 1.02;
    const adv = attacks.get(name).run(model, x, y, { eps: over, steps: 20 }).x;
    assert.equal(count(model, adv, y), x.shape[0], `${name} at 1.02x the largest minimal distance`);
    const sizes = tf.tidy(() => perturbationNorms(adv.sub(x), norm).arraySync());
    // Minimal-norm: each example's perturbation is within 2% of its own minimal distance.
    sizes.forEach((s, i) => assert.ok(s <= minimal[norm][i] * 1.02 + 1e-6 && s >= minimal[norm][i] * (1 - 1e-3), `${name}: example ${i} moved ${s}, minimal ${minimal[norm][i]}`));
    assert.ok(tf.tidy(() => adv.min()).dataSync()[0] >= 0 && tf.tidy(() => adv.max()).dataSync()[0] <= 1, `${name} left [0, 1]`);
    adv.dispose();
    const under = attacks.get(name).run(model, x, y, { eps: Math.min(...minimal[norm]) * 0.98, steps: 20 }).x;
    assert.equal(count(model, under, y), 0, `${name} cannot beat the minimal distance`);
    under.dispose();
  }
});
