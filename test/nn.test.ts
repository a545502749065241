import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { cnn, loadModel, logitsModel, mlp, models, saveModel } from '../src/nn/index.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-nn-');

before(async () => {
  await initBackend();
});

const input = (seed: number, shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed);

async function rejectsKiln(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KilnError, `expected a KilnError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('mlp and cnn build classifiers with softmax outputs of the right shape', () => {
  const m = mlp({ inputs: [8, 8, 1], hidden: [16, 8], outputs: 3, dropout: 0.2 });
  const c = cnn({ inputShape: [28, 28, 1], outputs: 10 });
  tf.tidy(() => {
    const p = m.predict(input(1, [5, 8, 8, 1])) as tf.Tensor;
    assert.deepEqual(p.shape, [5, 3]);
    const sums = tf.sum(p, 1).dataSync();
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
    assert.deepEqual((c.predict(input(2, [2, 28, 28, 1])) as tf.Tensor).shape, [2, 10]);
  });
  assert.deepEqual(models.names(), ['mlp', 'cnn']);
  assert.throws(() => mlp({ inputs: 4, hidden: [8], outputs: 3, activation: 'bogus' as 'relu' }), /unknown activation 'bogus'/);
  assert.throws(() => cnn({ inputShape: [64], outputs: 3 }), KilnError);
  m.dispose();
  c.dispose();
});

test('setSeed makes model initialization reproducible', () => {
  const build = (seed: number) => {
    setSeed(seed);
    const m = mlp({ inputs: 4, hidden: [6], outputs: 3 });
    const w = m.getWeights().map((t) => [...t.dataSync()]);
    m.dispose();
    return w;
  };
  assert.deepEqual(build(5), build(5));
  assert.notDeepEqual(build(5), build(6));
});

test('logitsModel gives the pre-softmax scores of the same weights', () => {
  const m = mlp({ inputs: 4, hidden: [6], outputs: 3 });
  tf.tidy(() => {
    const x = input(3, [4, 4]);
    const logits = logitsModel(m).predict(x) as tf.Tensor;
    const probs = m.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(tf.softmax(logits), probs))).dataSync()[0];
    assert.ok(diff < 1e-6);
  });
  m.dispose();
});

test('saveModel/loadModel round-trip gives identical predictions', async () => {
  for (const model of [mlp({ inputs: 5, hidden: [7, 7], outputs: 3, dropout: 0.1 }), cnn({ inputShape: [12, 12, 2], outputs: 4, filters: [3] })]) {
    model.setUserDefinedMetadata({ classNames: ['a', 'b', 'c'] });
    const dir = path.join(tmp, model.name);
    const file = await saveModel(model, dir);
    assert.equal(file, path.join(dir, 'model.json'));
    assert.ok(fs.existsSync(path.join(dir, 'weights.bin')));
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
    const loaded = await loadModel(file);
    const fromDir = await loadModel(dir);
    const shape = [3, ...(model.inputs[0].shape.slice(1) as number[])];
    tf.tidy(() => {
      const x = input(4, shape);
      const a = (model.predict(x) as tf.Tensor).dataSync();
      assert.deepEqual([...(loaded.predict(x) as tf.Tensor).dataSync()], [...a]);
      assert.deepEqual([...(fromDir.predict(x) as tf.Tensor).dataSync()], [...a]);
    });
    assert.deepEqual(loaded.getUserDefinedMetadata(), { classNames: ['a', 'b', 'c'] });
    for (const m of [model, loaded, fromDir]) m.dispose();
  }
});

test('loadModel names the problem with a missing or malformed model', async () => {
  await rejectsKiln(loadModel(path.join(tmp, 'absent', 'model.json')), /model file not found: .*absent/);
  const bad = path.join(tmp, 'bad');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'model.json'), '{"modelTopology": ');
  await rejectsKiln(loadModel(bad), /malformed model file .*not valid JSON/);
  fs.writeFileSync(path.join(bad, 'model.json'), '{"hello": 1}');
  await rejectsKiln(loadModel(bad), /malformed model file .*no modelTopology/);

  const m = mlp({ inputs: 3, hidden: [4], outputs: 2 });
  const dir = path.join(tmp, 'broken');
  await saveModel(m, dir);
  const bytes = fs.readFileSync(path.join(dir, 'weights.bin'));
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(8));
  await rejectsKiln(loadModel(dir), /hold 8 bytes, but its manifest describes 104/);
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([bytes, Buffer.alloc(4)]));
  await rejectsKiln(loadModel(dir), /hold 108 bytes, but its manifest describes 104/);
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  values[5] = NaN;
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(values.buffer));
  await rejectsKiln(loadModel(dir), /NaN or infinite values in weight '.*kernel'/);
  const loose = await loadModel(dir, { allowNonfinite: true });
  assert.ok(Number.isNaN(loose.getWeights()[0].dataSync()[5]));
  loose.dispose();
  fs.rmSync(path.join(dir, 'weights.bin'));
  await rejectsKiln(loadModel(dir), /weights file not found: .*weights\.bin/);
  m.dispose();
});
