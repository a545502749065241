import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { cnn } from '../src/nn/index.js';
import { measureLatency, runtimes } from '../src/nas/latency/index.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/runtime.js';

// onnxruntime-node is optional (its install script needs the network): without it the ort case says so and skips.
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

before(async () => {
  await initBackend();
});

for (const name of runtimes.names()) {
  test(`runtime ${name}: a model's outputs are tfjs's on this backend, and its latency is a positive time`, { skip: name === 'ort' && noOrt }, async () => {
    setSeed(3);
    const model = cnn({ inputShape: [12, 12, 3], outputs: 4, filters: [4, 8], dense: 8 });
    const x = tf.randomNormal([2, 12, 12, 3], 0, 1, 'float32', 5).dataSync() as Float32Array;
    const want = tf.tidy(() => (model.predict(tf.tensor(x, [2, 12, 12, 3])) as tf.Tensor).dataSync());
    const runner = await runtimes.get(name).load(model);
    const got = await runner.run(x, 2);
    runner.dispose();
    assert.equal(got.length, want.length);
    assert.ok(got.every((v, i) => Math.abs(v - want[i]) < 1e-4), `${name}: ${got.slice(0, 4)} vs ${want.slice(0, 4)}`);
    for (const statistic of ['median', 'min'] as const) {
      const ms = await measureLatency(model, name, { batch: 1, warmup: 1, repeats: 3, statistic });
      assert.ok(Number.isFinite(ms) && ms > 0, `${name} ${statistic}: ${ms}`);
    }
    model.dispose();
  });
}

test('the wasm runtime computes in its own thread: this thread keeps its backend, and a disposed model is an error, not a hang', async () => {
  const backend = tf.getBackend();
  const model = cnn({ inputShape: [8, 8, 1], outputs: 2, filters: [2], dense: 4 });
  const runner = await runtimes.get('wasm').load(model);
  assert.equal((await runner.run(new Float32Array(64), 1)).length, 2);
  assert.equal(tf.getBackend(), backend);
  runner.dispose();
  // A disposed model is gone from the worker: running it is a KilnError, not a hang.
  await assert.rejects(runner.run(new Float32Array(64), 1), (e: unknown) => e instanceof KilnError && /^wasm runtime: no model \d+ in the worker$/.test(e.message));
  model.dispose();
});
