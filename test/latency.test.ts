import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, setSeed } from '../src/backend/index.js';
import { mlp } from '../src/nn/index.js';
import {
  extendLookupTable, fitLinear, latencyDevice, lookupLatency, measureDevices, measureRunner, modelOps, predictLinear, predictionError, type Runner,
} from '../src/nas/latency/index.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/runtime.js';

// onnxruntime-node is optional (its install script needs the network): without it these tests say so and skip.
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

before(async () => {
  await initBackend();
});

test('linear cost model recovers an exactly linear latency, and reports percentage errors', () => {
  const xs = Array.from({ length: 20 }, (_, i) => [i % 3 === 0 ? 1 : 0, i % 3 === 1 ? 1 : 0, (i * 7) % 5]);
  const ys = xs.map((x) => 0.5 + 2 * x[0] + 1 * x[1] + 0.25 * x[2]);
  const m = fitLinear(xs, ys, 0);
  xs.forEach((x, i) => assert.ok(Math.abs(predictLinear(m, x) - ys[i]) < 1e-9));
  assert.deepEqual(predictionError([110, 90], [100, 100]), { mape: 0.1, maxApe: 0.1 });
});

test('per-op lookup table: every computing layer is an op; lookup latency is the overhead plus the ops, on each runtime', { skip: noOrt }, async () => {
  setSeed(1);
  const model = mlp({ inputs: 8, hidden: [16, 8], outputs: 3 });
  assert.deepEqual(modelOps(model).map((o) => o.className), ['Dense', 'Dense', 'Dense', 'Activation']);
  const devices = [latencyDevice('tfjs', 1), latencyDevice('ort', 4)];
  const table = await extendLookupTable({}, [model], devices, { warmup: 1, repeats: 3 });
  assert.equal(Object.keys(table).length, 5); // 4 ops + the overhead entry
  const measured = await measureDevices(model, devices, { warmup: 1, repeats: 3 });
  for (const d of devices) {
    const predicted = lookupLatency(table, model, d.name);
    assert.ok(predicted > 0 && Number.isFinite(predicted) && measured[d.name] > 0, `${d.name}: ${predicted} vs ${measured[d.name]}`);
  }
});

test('latency summary: median of the timed repeats by default, or their minimum (warm-up runs not timed)', async () => {
  // Two long warm-up runs, then four timed ones; the bound leaves room for a loaded machine's overhead while
  // timing the warm-ups (or the first four runs) would put the median at 154 ms or more.
  const delays = [300, 300, 8, 2, 30, 4];
  let call = 0;
  const runner: Runner = {
    async run() {
      const until = performance.now() + delays[call++];
      while (performance.now() < until) { /* busy: the runtime is computing */ }
      return new Float32Array(1);
    },
    dispose() {},
  };
  const median = await measureRunner(runner, [1], { warmup: 2, repeats: 4 });
  assert.ok(median >= 6 && median < 150, `median ${median}`); // (4 + 8) / 2 = 6 plus overhead
  call = 0;
  const min = await measureRunner(runner, [1], { warmup: 2, repeats: 4, statistic: 'min' });
  assert.ok(min >= 2 && min < median, `min ${min} vs median ${median}`);
});
