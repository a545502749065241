import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, setSeed } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { mlp, logitsModel } from '../src/nn/index.js';
import {
  IMAGE_SIZE, LATENT_DIM, distanceToBoundary, labelOf, labelsOf, nearestBoundaryPoint, render, ruleValue,
  attacks, fooled, runExcusable, sampleLatents, shapesCnn, trainInfinite, QUICK_CONFIG,
} from '../src/robust/index.js';

before(async () => {
  await initBackend();
});

test('the renderer draws 28x28 images in [0, 1], deterministically, with the shape where z puts it', () => {
  const z = tf.tensor2d([[-1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, -1, 0.5, -1], [0, 0, 1, -0.5, 1]]);
  const a = render(z);
  const b = render(z);
  assert.deepEqual(a.shape, [4, IMAGE_SIZE, IMAGE_SIZE, 1]);
  assert.equal(a.sub(b).abs().max().dataSync()[0], 0);
  assert.ok(a.min().dataSync()[0] >= 0 && a.max().dataSync()[0] <= 1);
  // Horizontal centre of mass follows latent x; total ink follows size.
  const cols = tf.range(0, IMAGE_SIZE).add(0.5).reshape([1, 1, IMAGE_SIZE, 1]);
  const mass = a.sum([1, 2, 3]).dataSync();
  const cx = a.mul(cols).sum([1, 2, 3]).dataSync().map((v, i) => v / mass[i]);
  assert.ok(cx[0] < 11 && cx[1] > 17, `centres ${cx[0]}, ${cx[1]}`);
  assert.ok(mass[3] > 2 * mass[2], 'a larger rectangle has more ink than a small ellipse');
});

test('the renderer is differentiable in every latent coordinate', () => {
  const z = tf.tensor2d(sampleLatents(3, createRng(2)), [3, LATENT_DIM]);
  const target = tf.randomUniform([3, IMAGE_SIZE, IMAGE_SIZE, 1], 0, 1, 'float32', 3);
  const g = tf.grad((zz: tf.Tensor) => render(zz as tf.Tensor2D).sub(target).square().sum())(z);
  const v = g.dataSync();
  assert.ok(v.every(Number.isFinite), 'finite gradients');
  for (let i = 0; i < LATENT_DIM; i++) assert.ok(Math.abs(v[i]) + Math.abs(v[LATENT_DIM + i]) > 1e-3, `latent ${i} has gradient`);
});

test('labels are balanced and depend non-linearly on every latent', () => {
  const z = sampleLatents(4000, createRng(4));
  const y = labelsOf(z);
  const ones = y.reduce((s, v) => s + v, 0) / y.length;
  assert.ok(ones > 0.4 && ones < 0.6, `class balance ${ones}`);
  // Moving any single latent across the box changes the label somewhere.
  for (let i = 0; i < LATENT_DIM; i++) {
    let flips = 0;
    for (let k = 0; k < 200; k++) {
      const p = Array.from(z.subarray(k * LATENT_DIM, (k + 1) * LATENT_DIM));
      const q = [...p];
      p[i] = -1;
      q[i] = 1;
      if (labelOf(p) !== labelOf(q)) flips++;
    }
    assert.ok(flips > 0, `latent ${i} never changes the label`);
  }
});

test('distance to the boundary is exact: the nearest point is on it and nothing closer changes the label', () => {
  const rng = createRng(5);
  for (let k = 0; k < 50; k++) {
    const z = Array.from(sampleLatents(1, rng));
    const d = distanceToBoundary(z);
    const p = nearestBoundaryPoint(z);
    const dist = Math.hypot(...p.map((v, i) => v - z[i]));
    assert.ok(Math.abs(dist - d) < 1e-9, 'the nearest boundary point lies at distance d');
    assert.ok(Math.abs(ruleValue(p)) < 1e-9, 'the nearest boundary point is on the boundary');
    // Random points strictly inside the ball of radius d keep z's label.
    for (let j = 0; j < 40; j++) {
      const dir = Array.from({ length: LATENT_DIM }, () => rng.normal());
      const norm = Math.hypot(...dir);
      const q = z.map((v, i) => v + (0.999 * d * rng.next() * dir[i]) / norm);
      assert.equal(labelOf(q), labelOf(z));
    }
  }
});

test('training on infinite data lowers the loss without leaking tensors', () => {
  setSeed(1);
  const model = logitsModel(mlp({ inputs: [IMAGE_SIZE, IMAGE_SIZE, 1], hidden: [32], outputs: 2 }));
  const losses: number[] = [];
  trainInfinite(model, { steps: 4, batchSize: 32, learningRate: 3e-3, sigma: 0.1, rng: createRng(1), logEvery: 1,
    onLog: (_, l) => losses.push(l) });
  const before = tf.memory().numTensors;
  trainInfinite(model, { steps: 40, batchSize: 32, learningRate: 3e-3, sigma: 0.1, rng: createRng(2), logEvery: 10,
    onLog: (_, l) => losses.push(l) });
  assert.equal(tf.memory().numTensors, before, 'tensor count is flat');
  assert.ok(losses[losses.length - 1] < losses[0], `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
});

test('the excusable experiment runs end to end on a tiny configuration without leaking tensors', () => {
  const tensors = tf.memory().numTensors;
  const r = runExcusable({ ...QUICK_CONFIG, steps: 5, filters: [2, 4], dense: 8, testSize: 40, attackSize: 4, attackSteps: 2, eps: [0, 1] });
  assert.deepEqual(r.runs.map((m) => m.sigma), [0, 0.3]);
  for (const m of r.runs) {
    assert.ok(m.testError >= 0 && m.testError <= 1);
    assert.equal(m.errorDistances.length, Math.round(m.testError * 40));
    assert.equal(m.attacks[0].offErrors + m.attacks[0].onErrors, 0, 'eps 0 finds no adversarial errors');
    for (const a of m.attacks) assert.ok(a.offErrors <= a.attacked && a.onErrors <= a.attacked);
  }
  assert.equal(tf.memory().numTensors, tensors, 'tensor count is flat');
  assert.equal(r.examples.length, 2);
  assert.equal(r.examples[0].clean.length, r.examples[0].on.length);
});

test('the excusable experiment trains with PGD and attacks with AutoAttack besides PGD, counting a point fooled by either', () => {
  const tensors = tf.memory().numTensors;
  const r = runExcusable({ ...QUICK_CONFIG, steps: 5, filters: [2, 4], dense: 8, testSize: 40, attackSize: 4, attackSteps: 2, eps: [3],
    trainings: ['standard', 'pgd'], adversarialEps: 1, adversarialSteps: 2, offAttacks: ['pgd', 'autoattack'] });
  assert.deepEqual(r.runs.map((m) => m.training), ['standard', 'pgd']);
  for (const m of r.runs) {
    const [big] = m.attacks;
    assert.deepEqual(Object.keys(big.offByAttack), ['pgd', 'autoattack']);
    assert.ok(big.offErrors >= Math.max(big.offByAttack.pgd!, big.offByAttack.autoattack!) && big.offErrors <= big.offByAttack.pgd! + big.offByAttack.autoattack!,
      `any-attack errors ${big.offErrors} lie between the best single attack and the sum (${JSON.stringify(big.offByAttack)})`);
    assert.ok(big.offErrors <= big.attacked);
  }
  assert.equal(tf.memory().numTensors, tensors, 'tensor count is flat');
  assert.deepEqual(r.examples.map((e) => e.training), ['standard', 'pgd']);
});

test('PGD training on infinite data trains on pgd-l2 examples and makes the model harder to fool than standard training', () => {
  // Same seed, same fresh batches: only the adversarial examples differ.
  const fit = (adversarial?: { eps: number; steps: number }) => {
    setSeed(3);
    const model = shapesCnn({ filters: [2, 4], dense: 8 });
    const logits = logitsModel(model);
    trainInfinite(logits, { steps: 40, batchSize: 16, learningRate: 3e-3, sigma: 0, rng: createRng(5), adversarial });
    return { model, classifier: (x: tf.Tensor4D) => logits.apply(x) as tf.Tensor2D };
  };
  const z = sampleLatents(64, createRng(9));
  const x = render(tf.tensor2d(z, [64, LATENT_DIM]));
  const y = tf.tensor1d(labelsOf(z), 'int32');
  const fooledAt = (c: (x: tf.Tensor4D) => tf.Tensor2D) => {
    const adv = attacks.get('pgd-l2').run(c, x, y, { eps: 1, steps: 10, seed: 1 }).x;
    const k = tf.tidy(() => fooled(c, adv, y).sum()).dataSync()[0];
    adv.dispose();
    return k;
  };
  const plain = fit();
  const robust = fit({ eps: 1, steps: 2 });
  const [plainFooled, robustFooled] = [fooledAt(plain.classifier), fooledAt(robust.classifier)];
  assert.ok(robustFooled < plainFooled, `PGD-trained model fooled on ${robustFooled}/64, standard on ${plainFooled}/64`);
  tf.dispose([x, y]);
  plain.model.dispose();
  robust.model.dispose();
});
