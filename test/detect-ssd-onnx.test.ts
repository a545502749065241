import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { runtimes } from '../src/nas/latency/index.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT, toOnnxGraph } from '../src/nn/onnx/index.js';
import { mobileDetSpace, MOBILEDET_LAYOUT } from '../src/detect/space/index.js';
import { buildDetector, detect, detectOnnx, exportDetector } from '../src/detect/ssd/index.js';

// onnxruntime-node is optional (its install script needs the network): without it these tests say so and skip.
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

before(async () => {
  await initBackend();
});

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** Non-trivial BN statistics, so a wrong BN export cannot hide behind mean 0 / variance 1. */
function randomizeBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(layer.getWeights().map((w, i) => tf.add(tf.randomUniform(w.shape, 0.2, 1.5, 'float32', i), 0)));
  }
}

type Sym = tf.SymbolicTensor;

test('reshape and concatenate of image tensors export in NHWC order (the layouts SSDLite heads use)', { skip: noOrt }, async () => {
  const input = tf.input({ shape: [4, 6, 3] });
  const a = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same' }).apply(input) as Sym;
  const rowsA = tf.layers.reshape({ targetShape: [4 * 6 * 2, 3] }).apply(a) as Sym;
  const small = () => tf.layers.conv2d({ filters: 4, kernelSize: 1, strides: 2, padding: 'same' }).apply(input) as Sym;
  const [b, c] = [small(), small()];
  const rowsB = tf.layers.reshape({ targetShape: [16, 3] }).apply(tf.layers.concatenate({ axis: -1 }).apply([b, c]) as Sym) as Sym;
  // Concatenating along columns, then reshaping to another image and convolving it: the NCHW paths.
  const image = tf.layers.reshape({ targetShape: [2, 3, 8] }).apply(tf.layers.concatenate({ axis: 2 }).apply([b, c]) as Sym) as Sym;
  const back = tf.layers.reshape({ targetShape: [2 * 3 * 4, 3] }).apply(tf.layers.conv2d({ filters: 12, kernelSize: 1 }).apply(image) as Sym) as Sym;
  const out = tf.layers.concatenate({ axis: 1 }).apply([rowsA, rowsB, back]) as Sym;
  const model = tf.model({ inputs: input, outputs: out });
  assert.ok(toOnnxGraph(model).nodes.some((n) => n.op === 'Reshape'));
  const x = tf.randomNormal([2, 4, 6, 3], 0, 1, 'float32', 3);
  const want = (model.predict(x) as tf.Tensor).dataSync();
  const ort = await runtimes.get('ort').load(model);
  const got = await ort.run(x.dataSync() as Float32Array, 2);
  ort.dispose();
  assert.equal(got.length, want.length);
  assert.ok(maxAbs(got, want) < 1e-4);
  model.dispose();
});

test('an SSDLite detector exported to ONNX gives the same boxes, classes and scores in onnxruntime', { skip: noOrt }, async () => {
  setSeed(3);
  const space = mobileDetSpace('full', MOBILEDET_LAYOUT);
  const rng = createRng(8);
  // Every block type: IBN, fused and Tucker appear in this architecture.
  const arch = space.parse('f1-fused_k3_e4-f0.75-ibn_k5_e8-tucker_k3_i0.25_o0.75-f1-tucker_k5_i0.75_o0.25-fused_k5_e8-f1.25-ibn_k3_e4-skip');
  const d = buildDetector({ space, arch, inputShape: [64, 64, 3], categories: [{ id: 1, name: 'a' }, { id: 4, name: 'b' }] });
  randomizeBatchNorm(d.model);
  const images = Array.from({ length: 3 }, (_, i) => {
    const pixels = Float32Array.from({ length: 64 * 64 * 3 }, () => rng.next());
    return { id: i + 1, width: 64, height: 64, pixels };
  });
  // A second size, resized to the model's input on both paths.
  images.push({ id: 9, width: 40, height: 50, pixels: Float32Array.from({ length: 40 * 50 * 3 }, () => rng.next()) });
  const bytes = exportDetector(d);
  const nms = { scoreThreshold: 0.001, maxDetections: 20 };
  const ours = await detect(d, images, nms);
  const theirs = await detectOnnx(d, bytes, images, nms);
  assert.ok(ours.length >= 20, `only ${ours.length} detections to compare`);
  assert.equal(theirs.length, ours.length);
  ours.forEach((p, i) => {
    const q = theirs[i];
    assert.deepEqual([q.imageId, q.categoryId], [p.imageId, p.categoryId]);
    assert.ok(Math.abs(p.score - q.score) < 1e-4, `score ${p.score} vs ${q.score}`);
    assert.ok(maxAbs(p.box, q.box) < 1e-2, `box ${p.box} vs ${q.box}`); // pixels
  });
  d.model.dispose();
});
