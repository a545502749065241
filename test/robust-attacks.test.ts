import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { attacks, clampToBox, perturbationNorms, render, type Classifier, type ManifoldContext, type ThreatNorm, IMAGE_SIZE } from '../src/robust/index.js';

before(async () => {
  await initBackend();
});

const SIDE = 6;
const OFF_MANIFOLD = () => attacks.names().filter((n) => !attacks.get(n).needsManifold);

/** A small fixed random two-layer network on SIDE x SIDE images. */
function randomNet(seed: number): Classifier {
  const w1 = tf.randomNormal([SIDE * SIDE, 16], 0, 1, 'float32', seed);
  const w2 = tf.randomNormal([16, 3], 0, 1, 'float32', seed + 1);
  return (x) => tf.tidy(() => x.reshape([x.shape[0], -1]).matMul(w1).relu().matMul(w2) as tf.Tensor2D);
}

/** Images with many pixels exactly at 0 or 1, so clipping matters. */
function images(n: number, seed: number): tf.Tensor4D {
  const rng = createRng(seed);
  const v = Float32Array.from({ length: n * SIDE * SIDE }, () => Math.min(1, Math.max(0, 1.4 * rng.next() - 0.2)));
  return tf.tensor4d(v, [n, SIDE, SIDE, 1]);
}

const predict = (model: Classifier, x: tf.Tensor4D) => tf.tidy(() => model(x).argMax(1) as tf.Tensor1D);

/** Pixel-space budget check: norms within eps and values within [0, 1]. */
function assertBudget(norm: ThreatNorm, x: tf.Tensor4D, adv: tf.Tensor4D, eps: number, name: string): void {
  const size = perturbationNorms(adv.sub(x), norm);
  assert.ok(size.max().dataSync()[0] <= eps + 1e-5, `${name}: perturbation exceeds eps`);
  assert.ok(adv.min().dataSync()[0] >= 0 && adv.max().dataSync()[0] <= 1, `${name}: pixels leave [0, 1]`);
}

test('every attack with eps = 0 returns its input unchanged', () => {
  const model = randomNet(1);
  const x = images(8, 2);
  const y = predict(model, x);
  for (const name of OFF_MANIFOLD()) {
    const { x: adv } = attacks.get(name).run(model, x, y, { eps: 0, steps: 5 });
    assert.equal(adv.sub(x).abs().max().dataSync()[0], 0, name);
  }
  const m = manifold(4);
  const onX = m.render(m.z);
  const { x: adv } = attacks.get('on-manifold').run(centroidNet(), onX, tf.ones([4], 'int32'), { eps: 0, manifold: m });
  assert.equal(adv.sub(onX).abs().max().dataSync()[0], 0, 'on-manifold');
});

test('attacks respect their norm ball and the [0, 1] pixel range', () => {
  const model = randomNet(3);
  const x = images(16, 4);
  const y = predict(model, x);
  for (const name of OFF_MANIFOLD()) {
    const attack = attacks.get(name);
    const eps = { linf: 0.1, l2: 0.8, l1: 3 }[attack.norm];
    const { x: adv } = attack.run(model, x, y, { eps, steps: 10 });
    assertBudget(attack.norm, x, adv, eps, name);
  }
});

test('PGD-Linf fools at least as many examples as FGSM and the attacks lower accuracy', () => {
  const model = randomNet(5);
  const x = images(64, 6);
  const y = predict(model, x);
  const fooledBy = (name: string, eps: number) => {
    const { x: adv } = attacks.get(name).run(model, x, y, { eps, steps: 20 });
    return predict(model, adv).notEqual(y).sum().dataSync()[0];
  };
  const fgsm = fooledBy('fgsm', 0.03);
  const pgd = fooledBy('pgd-linf', 0.03);
  assert.ok(pgd >= fgsm, `PGD fooled ${pgd}, FGSM ${fgsm}`);
  assert.ok(pgd > 0, 'PGD fooled nothing');
  assert.ok(fooledBy('pgd-l2', 0.5) > 0 && fooledBy('deepfool-l2', 0.5) > 0);
});

/**
 * A linear two-class model w.x + b whose decision boundary lies at distance eps / 2 from x = 0.5
 * in the attack's norm: an adversarial example exists inside the eps ball, and no clipping blocks it.
 */
test('every attack finds the adversarial example a linear model guarantees', () => {
  const eps = 0.2;
  const n = 4;
  const x = tf.fill([n, SIDE, SIDE, 1], 0.5) as tf.Tensor4D;
  const y = tf.ones([n], 'int32') as tf.Tensor1D;
  for (const name of OFF_MANIFOLD()) {
    const attack = attacks.get(name);
    const w = tf.randomNormal([SIDE * SIDE, 1], 0, 1, 'float32', 7);
    const dual = { linf: () => w.abs().sum(), l2: () => w.square().sum().sqrt(), l1: () => w.abs().max() }[attack.norm]();
    // w.x + b = (eps / 2) * ||w||_dual > 0: class 1, at distance eps / 2 from the boundary.
    const b = dual.mul(eps / 2).sub(w.sum().mul(0.5));
    const model: Classifier = (inp) => tf.tidy(() => {
      const s = inp.reshape([inp.shape[0], -1]).matMul(w).add(b);
      return tf.concat([tf.zerosLike(s), s], 1) as tf.Tensor2D;
    });
    assert.deepEqual(Array.from(predict(model, x).dataSync()), [1, 1, 1, 1], `${name}: clean points are class 1`);
    // Square spends its steps as single queries of random squares: it needs more of them than gradient steps.
    const { x: adv } = attack.run(model, x, y, { eps, steps: name.startsWith('square') ? 2000 : 10 });
    assert.deepEqual(Array.from(predict(model, adv).dataSync()), [0, 0, 0, 0], `${name} missed a guaranteed example`);
    assertBudget(attack.norm, x, adv, eps, name);
  }
});

/** Logit difference = sum of pixels weighted by (column - centre): positive when the shape is right of centre. */
function centroidNet(): Classifier {
  const col = tf.range(0, IMAGE_SIZE).add(0.5 - IMAGE_SIZE / 2);
  const w = tf.tile(col.reshape([1, IMAGE_SIZE]), [IMAGE_SIZE, 1]).reshape([-1, 1]);
  return (inp) => tf.tidy(() => {
    const s = inp.reshape([inp.shape[0], -1]).matMul(w);
    return tf.concat([tf.zerosLike(s), s], 1) as tf.Tensor2D;
  });
}

/** Shapes slightly right of the centre (x latent 0.05 = 0.2 pixels), varied otherwise. */
function manifold(n: number): ManifoldContext {
  const rng = createRng(11);
  const z = Float32Array.from({ length: n * 5 }, (_, i) => (i % 5 === 0 ? 0.05 : 1.6 * rng.next() - 0.8));
  return { z: tf.tensor2d(z, [n, 5]), render, project: clampToBox };
}

test('the on-manifold attack finds a guaranteed example and stays on the manifold within eps', () => {
  const m = manifold(4);
  const model = centroidNet();
  const x = m.render(m.z);
  const y = tf.ones([4], 'int32') as tf.Tensor1D;
  assert.deepEqual(Array.from(predict(model, x).dataSync()), [1, 1, 1, 1]);
  // Moving the shape 0.4 pixels left flips the class; that costs well under eps = 2 in image L2.
  const eps = 2;
  const { x: adv, z } = attacks.get('on-manifold').run(model, x, y, { eps, steps: 20, manifold: m });
  assert.deepEqual(Array.from(predict(model, adv).dataSync()), [0, 0, 0, 0]);
  assertBudget('l2', x, adv, eps, 'on-manifold');
  assert.ok(z, 'on-manifold returns latents');
  assert.ok(render(z).sub(adv).abs().max().dataSync()[0] < 1e-6, 'the adversarial image is the rendering of its latent');
  assert.ok(z.abs().max().dataSync()[0] <= 1, 'latents stay in the box');
});

test('on the manifold, a model that matches the true labels is fooled only at the true boundary', () => {
  // The centroid net says "shape right of centre", the true label (x latent > 0) here, up to pixel
  // sampling: the rendered centroid can miss the latent position by a few hundredths of a pixel.
  const m: ManifoldContext = { ...manifold(4), trueLabels: (z) => Int32Array.from({ length: z.length / 5 }, (_, i) => Number(z[i * 5] > 0)) };
  const model = centroidNet();
  const x = m.render(m.z);
  const y = tf.ones([4], 'int32') as tf.Tensor1D;
  const { x: adv, z } = attacks.get('on-manifold').run(model, x, y, { eps: 2, steps: 10, restarts: 2, manifold: m });
  const truth = m.trueLabels!(z!.dataSync() as Float32Array);
  assert.ok(truth.some((v) => v === 0), 'the attack moved some shapes across the true boundary');
  const pred = predict(model, adv).dataSync();
  const zs = z!.dataSync();
  truth.forEach((t, i) => assert.ok(pred[i] === t || Math.abs(zs[i * 5]) < 0.02,
    `example ${i} counted as an error at x latent ${zs[i * 5]}, away from the true boundary`));
  assertBudget('l2', x, adv, 2, 'on-manifold');
});

test('on-manifold restarts keep every success of the first run and stay within eps', () => {
  const m = manifold(6);
  const model = randomOnManifoldNet();
  const x = m.render(m.z);
  const y = predict(model, x);
  const fooledBy = (restarts: number) => {
    const { x: adv, z } = attacks.get('on-manifold').run(model, x, y, { eps: 1, steps: 4, restarts, seed: 3, manifold: m });
    assertBudget('l2', x, adv, 1, `on-manifold, ${restarts} restarts`);
    const f = Array.from(predict(model, adv).dataSync(), (p, i) => p !== y.dataSync()[i]);
    tf.dispose([adv, z!]);
    return f;
  };
  const one = fooledBy(1);
  const three = fooledBy(3);
  one.forEach((f, i) => assert.ok(!f || three[i], `example ${i}: a restart lost a success`));
});

/** A fixed random linear classifier on 28x28 images, so on-manifold attacks have something to fool. */
function randomOnManifoldNet(): Classifier {
  const w = tf.randomNormal([IMAGE_SIZE * IMAGE_SIZE, 2], 0, 1, 'float32', 21);
  return (inp) => tf.tidy(() => inp.reshape([inp.shape[0], -1]).matMul(w) as tf.Tensor2D);
}

test('the on-manifold attack refuses to run without a latent model', () => {
  const x = images(2, 1);
  assert.throws(() => attacks.get('on-manifold').run(randomNet(1), x, tf.zeros([2], 'int32'), { eps: 1 }), /latent model/);
});

test('attacks free every intermediate tensor', () => {
  const model = randomNet(9);
  const x = images(4, 10);
  const y = predict(model, x);
  const m = manifold(2);
  const onX = m.render(m.z);
  const onY = tf.ones([2], 'int32') as tf.Tensor1D;
  const net = centroidNet();
  for (const name of attacks.names()) {
    const before = tf.memory().numTensors;
    const r = attacks.get(name).needsManifold
      ? attacks.get(name).run(net, onX, onY, { eps: 1, steps: 3, restarts: 2, manifold: m })
      : attacks.get(name).run(model, x, y, { eps: 0.5, steps: 3 });
    tf.dispose([r.x, ...(r.z ? [r.z] : [])]);
    assert.equal(tf.memory().numTensors, before, `${name} leaks tensors`);
  }
});
