import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, projectRoot } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { cnn, mlp } from '../src/nn/index.js';
import { exportOnnx } from '../src/nn/onnx/index.js';
import { runtimes } from '../src/nas/latency/index.js';
import { tinyFrameModel } from '../src/storybench/onnx-builder.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/runtime.js';

// onnxruntime-node is optional (its install script needs the network): without it these tests say so and skip.
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

before(async () => {
  await initBackend();
});

/** Runs `model` on tfjs and on onnxruntime (through the exporter) and returns the worst absolute difference. */
async function maxDiff(model: tf.LayersModel, batch: number): Promise<number> {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const x = tf.randomNormal([batch, ...shape], 0, 1, 'float32', 7).dataSync() as Float32Array;
  const a = await (await runtimes.get('tfjs').load(model)).run(x, batch);
  const ort = await runtimes.get('ort').load(model);
  const b = await ort.run(x, batch);
  ort.dispose();
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** Non-trivial BN statistics, so a wrong BN export cannot hide behind mean 0 / variance 1. */
function randomizeBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(layer.getWeights().map((w, i) => tf.add(tf.randomUniform(w.shape, 0.2, 1.5, 'float32', i), 0)));
  }
}

/** An inverted-bottleneck block net: strided 'same' convs on even sides, depthwise, BN, relu6, residual add. */
function mobileBlockNet(): tf.LayersModel {
  const input = tf.input({ shape: [10, 10, 3] });
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
  const relu6 = (x: tf.SymbolicTensor) => tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  let x = relu6(bn(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor));
  const skip = x;
  let y = relu6(bn(tf.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false }).apply(x) as tf.SymbolicTensor));
  y = relu6(bn(tf.layers.depthwiseConv2d({ kernelSize: 5, padding: 'same', useBias: false }).apply(y) as tf.SymbolicTensor));
  y = bn(tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(y) as tf.SymbolicTensor);
  x = tf.layers.add().apply([skip, y]) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'swish' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 4, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

test('exported MLP, LeNet-style CNN and MobileNet-style block net match tfjs in onnxruntime (atol 1e-4)', { skip: noOrt }, async () => {
  setSeed(3);
  const models = [
    mlp({ inputs: 13, hidden: [32, 8], outputs: 3, activation: 'tanh' }),
    cnn({ inputShape: [12, 12, 2], outputs: 5, filters: [4, 6], dense: 8 }),
    mobileBlockNet(),
  ];
  randomizeBatchNorm(models[2]);
  for (const model of models) {
    for (const batch of [1, 3]) {
      const d = await maxDiff(model, batch);
      assert.ok(d < 1e-4, `${model.name} batch ${batch}: max |tfjs - onnx| = ${d}`);
    }
  }
});

test('an unsupported layer is a KilnError naming it, not a wrong graph', () => {
  const input = tf.input({ shape: [6] });
  const out = tf.layers.layerNormalization({ name: 'ln' }).apply(input) as tf.SymbolicTensor;
  assert.throws(() => exportOnnx(tf.model({ inputs: input, outputs: out })),
    (e: unknown) => e instanceof KilnError && /'ln'.*LayerNormalization/.test(e.message));
});

test('one ONNX writer: StoryBench fixtures still encode byte-identically through src/nn/onnx', () => {
  const fixture = path.join(projectRoot(), 'test', 'fixtures', 'storybench', 'tiny-frame-features.onnx');
  assert.deepEqual(new Uint8Array(fs.readFileSync(fixture)), tinyFrameModel());
});
