import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { attacks, autoAttack, autoAttackPlan, projectL1Box, squareEta } from '../src/robust/index.js';
import { countFooled, linearAttackModel } from './linear-attack-model.js';

before(async () => {
  await initBackend();
});

test('the L1-ball-and-box projection matches a case worked by hand', () => {
  // room to the bound each coordinate points at: 0.5, 0.5 (x = 0.5, delta < 0) and 0.1; the sum of
  // min(max(|delta_i| - lambda, 0), room_i) is 0.9 - 2 lambda on [0.1, 0.2], so eps 0.5 needs lambda 0.2.
  const d = projectL1Box(Float32Array.of(0.5, 0.5, 0.9), Float32Array.of(0.6, -0.2, 0.5), 0.5);
  [0.4, 0, 0.1].forEach((v, i) => assert.ok(Math.abs(d[i] - v) < 1e-6, `d[${i}] = ${d[i]}`));
  // Inside the ball after clipping to the box: only the clipping applies.
  const clipped = projectL1Box(Float32Array.of(0.9, 0.1), Float32Array.of(0.3, -0.05), 1);
  [0.1, -0.05].forEach((v, i) => assert.ok(Math.abs(clipped[i] - v) < 1e-6));
});

test('the L1-ball-and-box projection is the nearest point of the set (brute force over random feasible points)', () => {
  const rng = createRng(4);
  for (let trial = 0; trial < 20; trial++) {
    const x = Float32Array.from({ length: 3 }, () => rng.next());
    const delta = Float32Array.from({ length: 3 }, () => (rng.next() - 0.5) * 2);
    const eps = 0.1 + rng.next() * 0.8;
    const d = projectL1Box(x, delta, eps);
    const l1 = d.reduce((a, v) => a + Math.abs(v), 0);
    assert.ok(l1 <= eps + 1e-6, `outside the L1 ball: ${l1} > ${eps}`);
    d.forEach((v, i) => assert.ok(x[i] + v >= -1e-7 && x[i] + v <= 1 + 1e-7, 'outside the box'));
    const distance = (p: ArrayLike<number>) => Array.from(delta).reduce((a, v, i) => a + (v - p[i]) ** 2, 0);
    const best = distance(d);
    for (let k = 0; k < 20000; k++) {
      const p = Array.from(x, (xi) => -xi + rng.next()); // x + p uniform in the box
      if (p.reduce((a, v) => a + Math.abs(v), 0) > eps) continue;
      assert.ok(best <= distance(p) + 1e-6, `a feasible point is nearer than the projection (trial ${trial})`);
    }
  }
});

test("Square-L1's window pattern is the reference's (fra31/auto-attack square.py eta(3) with norm L1), unit L1 norm", () => {
  // eta(3) in L1: top row rectangles [1/16, 17/16, 1/16] / (19/16), bottom two rows [[1, 1, 1], [1, 17, 1]] / 22,
  // both halves then halved by the whole pattern's unit L1 norm.
  const reference = [1 / 38, 17 / 38, 1 / 38, -1 / 44, -1 / 44, -1 / 44, -1 / 44, -17 / 44, -1 / 44];
  squareEta(3, false, 'l1').forEach((v, i) => assert.ok(Math.abs(v - reference[i]) < 1e-6, `eta(3)[${i}] = ${v}`));
  for (const side of [3, 5, 8]) assert.ok(Math.abs(squareEta(side, true, 'l1').reduce((a, v) => a + Math.abs(v), 0) - 1) < 1e-5);
});

/** The linear test model with the minimal L1 distances |s| (see linearAttackModel). */
function linearModel(seed: number, side: number, masked = false) {
  const m = linearAttackModel(seed, side, masked);
  return { ...m, minimal: m.margins };
}

const L1 = ['apgd-ce-l1', 'apgd-dlr-l1', 'apgd-t-l1', 'fab-l1', 'square-l1', 'autoattack-l1'];

test('every L1 attack finds an example just outside the minimal L1 distance and stays in the ball and [0, 1]', () => {
  // 10 x 10 images, so Square-L1 starts from its full 5 x 5 grid of windows.
  const { model, x, y, minimal } = linearModel(2, 10);
  for (const name of L1) {
    const eps = Math.max(...minimal) * 1.1;
    const adv = attacks.get(name).run(model, x, y, { eps, steps: name === 'square-l1' ? 2000 : 50, seed: 1 }).x;
    assert.equal(countFooled(model, adv, y), x.shape[0], name);
    const norms = tf.tidy(() => adv.sub(x).abs().sum([1, 2, 3])).dataSync();
    assert.ok(Math.max(...norms) <= eps * (1 + 1e-5), `${name} left the L1 ball: ${Math.max(...norms)} > ${eps}`);
    assert.ok(tf.tidy(() => adv.min()).dataSync()[0] >= 0 && tf.tidy(() => adv.max()).dataSync()[0] <= 1, `${name} left [0, 1]`);
    adv.dispose();
  }
  const under = Math.min(...minimal) * 0.9;
  for (const name of L1) {
    const adv = attacks.get(name).run(model, x, y, { eps: under, steps: name === 'square-l1' ? 300 : 20, seed: 1 }).x;
    assert.equal(countFooled(model, adv, y), 0, `${name} cannot beat the minimal distance`);
    adv.dispose();
  }
});

test("AutoAttack-L1's robust accuracy is never above any of its components', which are the reference's L1 settings", () => {
  const plan = autoAttackPlan('standard', 'l1');
  assert.deepEqual(plan, [
    { attack: 'apgd-ce-l1', options: { restarts: 5 } }, { attack: 'apgd-t-l1', options: { targets: 5 } },
    { attack: 'fab-t-l1', options: { targets: 9 } }, { attack: 'square-l1', options: { steps: 5000 } },
  ]);
  const { model, x, y, minimal } = linearModel(4, 10);
  const eps = Math.min(...minimal) * 1.05; // some points fall, not all
  const result = autoAttack(model, x, y, { eps, seed: 2, norm: 'l1' });
  assert.deepEqual(result.stages.map((s) => s.attack), plan.map((s) => s.attack));
  const robust = result.stages[result.stages.length - 1].robustAccuracy;
  assert.ok(robust > 0 && robust < 1, `the budget should leave some points robust, not all: ${robust}`);
  for (const { attack, options } of plan) {
    const adv = attacks.get(attack).run(model, x, y, { eps, seed: 2, ...options }).x;
    assert.ok(robust <= 1 - countFooled(model, adv, y) / x.shape[0] + 1e-9, `autoattack-l1 above ${attack}`);
    adv.dispose();
  }
  result.x.dispose();
});

test('Square-L1 succeeds on a model that masks its gradient, where L1-APGD does not, and AutoAttack-L1 flags it', () => {
  const { model, x, y, minimal } = linearModel(3, 10, true);
  const eps = Math.max(...minimal) * 1.5;
  const n = x.shape[0];
  const apgd = attacks.get('apgd-ce-l1').run(model, x, y, { eps, steps: 20, seed: 1 }).x;
  assert.ok(countFooled(model, apgd, y) < n / 2, 'L1-APGD should be stopped by the masked gradient');
  const square = attacks.get('square-l1').run(model, x, y, { eps, steps: 2000, seed: 1 }).x;
  assert.equal(countFooled(model, square, y), n);
  tf.dispose([apgd, square]);
  // AutoAttack-L1's masking check: the gradient attack leaves clean accuracy, Square-L1 does not.
  const flagged = autoAttack(model, x, y, { eps, seed: 1, norm: 'l1', version: 'custom', attacks: ['apgd-ce', 'square'] });
  assert.deepEqual(flagged.stages.map((st) => st.attack), ['apgd-ce-l1', 'square-l1']);
  assert.match(flagged.warnings.join('; '), /gradient masking suspected/);
  flagged.x.dispose();
});
