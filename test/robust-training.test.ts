import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { cnn, logitsModel } from '../src/nn/index.js';
import { classificationLoss, fit } from '../src/train/index.js';
import { pgdTraining, tradesTraining } from '../src/robust/index.js';
import { blobs } from './helpers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-adv-');

before(async () => {
  await initBackend();
});

/** 6x6 grey images in [0, 1], three classes. */
function images(n: number, seed: number) {
  const ds = blobs(n, 36, 3, seed, [6, 6, 1]);
  return { ...ds, x: ds.x.map((v) => Math.min(1, Math.max(0, 0.5 + v * 0.2))) };
}

function model(seed: number): tf.LayersModel {
  setSeed(seed);
  return cnn({ inputShape: [6, 6, 1], outputs: 3, filters: [4], dense: 8 });
}

/** A seeded model, its logits network and a batch of `n` images as tensors. */
function setup(seed: number, n: number) {
  const m = model(seed);
  const data = images(n, seed);
  return { m, net: logitsModel(m), x: tf.tensor4d(data.x, [n, 6, 6, 1]), y: tf.tensor1d(data.y, 'int32') };
}

test('PGD training crafts inputs inside the eps box and [0, 1] that raise the loss; TRADES adds beta * KL to the clean loss', () => {
  const { m, net, x, y } = setup(1, 32);
  const eps = 0.1;
  for (const objective of [pgdTraining({ eps, steps: 5 }), tradesTraining({ eps, steps: 5 })]) {
    const [adv] = objective.prepare!(net, x, y, 0);
    assert.ok(tf.tidy(() => adv.sub(x).abs().max()).dataSync()[0] <= eps + 1e-6, objective.name);
    assert.ok(tf.tidy(() => adv.min()).dataSync()[0] >= 0 && tf.tidy(() => adv.max()).dataSync()[0] <= 1, objective.name);
    const ce = (z: tf.Tensor) => tf.tidy(() => classificationLoss(net.apply(z, { training: false }) as tf.Tensor, y, 0).dataSync()[0]);
    if (objective.name.startsWith('pgd')) assert.ok(ce(adv) > ce(x), 'the crafted inputs raise the loss');
    adv.dispose();
  }
  const [adv] = tradesTraining({ eps, steps: 3, beta: 0 }).prepare!(net, x, y, 0);
  const plain = tf.tidy(() => tradesTraining({ eps, steps: 3, beta: 0 }).loss(net, x, y, [adv], 0).loss.dataSync()[0]);
  const weighted = tf.tidy(() => tradesTraining({ eps, steps: 3, beta: 6 }).loss(net, x, y, [adv], 0).loss.dataSync()[0]);
  const clean = tf.tidy(() => classificationLoss(net.apply(x, { training: true }) as tf.Tensor, y, 0).dataSync()[0]);
  assert.ok(Math.abs(plain - clean) < 1e-5, 'beta 0 is the clean loss');
  assert.ok(weighted >= plain - 1e-6, 'the KL term is not negative');
  tf.dispose([adv, x, y]);
  m.dispose();
});

test('an eps ramp grows the budget linearly over its steps, then holds it; the name records it', () => {
  const { m, net, x, y } = setup(2, 16);
  const eps = 0.2;
  for (const make of [pgdTraining, tradesTraining]) {
    const objective = make({ eps, steps: 4, epsRamp: 10 });
    assert.match(objective.name, /epsRamp=10/);
    // The largest move of the crafted inputs at optimizer step `step` (signed steps reach the box's face).
    const reach = (step: number) => {
      const [adv] = objective.prepare!(net, x, y, step);
      const r = tf.tidy(() => adv.sub(x).abs().max()).dataSync()[0];
      adv.dispose();
      return r;
    };
    for (const [step, budget] of [[0, eps / 10], [4, eps / 2], [9, eps], [50, eps]] as const) {
      const r = reach(step);
      assert.ok(r <= budget + 1e-6 && r >= budget * 0.6, `${objective.name} at step ${step}: moved ${r}, budget ${budget}`);
    }
  }
  assert.doesNotMatch(pgdTraining({ eps }).name, /epsRamp/);
  assert.throws(() => pgdTraining({ eps, epsRamp: -1 }), /eps ramp/);
  tf.dispose([x, y]);
  m.dispose();
});

test('adversarial training resumes bit for bit, and lowers the PGD loss on its own adversarial examples', async () => {
  const data = { train: images(96, 2) };
  const objective = () => pgdTraining({ eps: 0.1, steps: 3 }, 5);
  const opts = { epochs: 3, batchSize: 16, lr: 0.01, seed: 3 };
  const straight = model(4);
  const reference = await fit(straight, data, { ...opts, objective: objective() });
  const dir = path.join(tmp, 'resume');
  const stop = new AbortController();
  const first = model(4);
  await fit(first, data, { ...opts, objective: objective(), checkpointDir: dir, signal: stop.signal,
    onBatch: (e) => { if (e.epoch === 1 && e.batch === 2) stop.abort(); } });
  const resumed = model(9);
  const rest = await fit(resumed, data, { ...opts, objective: objective(), checkpointDir: dir });
  assert.deepEqual(rest.history.map((l) => l.loss), reference.history.map((l) => l.loss));
  resumed.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), straight.getWeights()[i].dataSync()));
  assert.ok(reference.history[2].loss < reference.history[0].loss, `adversarial loss ${reference.history.map((l) => l.loss.toFixed(3))}`);
  for (const m of [straight, first, resumed]) m.dispose();
});
