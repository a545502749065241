/**
 * Every entry of nn's layer table, through every consumer: explain's graph (same outputs as tfjs),
 * ONNX export (same outputs in onnxruntime, or the stated refusal) and per-op latency lookup (the
 * layer is an op, rebuilt alone, or stated free). A class outside the table is one error everywhere.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../src/core/index.js';
import { initBackend, tf } from '../src/backend/index.js';
import { LAYER_CLASSES } from '../src/nn/index.js';
import { ONNX_EXPORTABLE_LAYERS, onnxRuntimeAvailable, toOnnxGraph } from '../src/nn/onnx/index.js';
import { buildGraph, forward, SUPPORTED_LAYERS } from '../src/explain/index.js';
import { disposeGraph } from '../src/explain/graph.js';
import { modelOps, opModel, runtimes } from '../src/nas/latency/index.js';

const ort = await onnxRuntimeAvailable();

before(async () => {
  await initBackend();
});

type Sym = tf.SymbolicTensor;

/** A one-layer model around `layer` (two copies of the input for merging layers). */
function around(shape: number[], layer: (x: Sym) => Sym): tf.LayersModel {
  const input = tf.input({ shape });
  return tf.model({ inputs: input, outputs: layer(input) });
}
const apply = (l: tf.layers.Layer) => (x: Sym) => l.apply(x) as Sym;

/** One small model per table class, with the class's layer doing real work (non-default settings). */
const EXAMPLES: Record<string, () => tf.LayersModel> = {
  InputLayer: () => around([5], (x) => x),
  Dense: () => around([5], apply(tf.layers.dense({ units: 3, activation: 'tanh' }))),
  Conv2D: () => around([5, 5, 2], apply(tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }))),
  DepthwiseConv2D: () => around([5, 5, 2], apply(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, biasInitializer: 'glorotUniform' }))),
  BatchNormalization: () => {
    const m = around([4, 4, 3], apply(tf.layers.batchNormalization({ epsilon: 1e-2 })));
    const bn = m.layers[1];
    bn.setWeights(bn.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.2, 1.5, 'float32', i + 1)));
    return m;
  },
  ReLU: () => around([6], apply(tf.layers.reLU({ maxValue: 6 }))),
  Activation: () => around([6], apply(tf.layers.activation({ activation: 'sigmoid' }))),
  Softmax: () => around([6], apply(tf.layers.softmax())),
  MaxPooling2D: () => around([5, 5, 2], apply(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }))),
  AveragePooling2D: () => around([5, 5, 2], apply(tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }))),
  GlobalMaxPooling2D: () => around([4, 4, 3], apply(tf.layers.globalMaxPooling2d({}))),
  GlobalAveragePooling2D: () => around([4, 4, 3], apply(tf.layers.globalAveragePooling2d({}))),
  Flatten: () => around([3, 3, 2], apply(tf.layers.flatten())),
  Reshape: () => around([6], apply(tf.layers.reshape({ targetShape: [2, 3] }))),
  Dropout: () => around([6], apply(tf.layers.dropout({ rate: 0.5 }))),
  ZeroPadding2D: () => around([3, 3, 2], apply(tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }))),
  Add: () => around([6], (x) => tf.layers.add().apply([x, x]) as Sym),
  Concatenate: () => around([6], (x) => tf.layers.concatenate().apply([x, x]) as Sym),
};

const input = (model: tf.LayersModel) => tf.randomNormal([2, ...(model.inputs[0].shape.slice(1) as number[])], 0, 4, 'float32', 3);
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const unsupported = (consumer: string, layer: tf.layers.Layer) => (e: unknown) => e instanceof KilnError &&
  e.message.startsWith(`${consumer}: layer '${layer.name}' of type ${layer.getClassName()} is not supported (supported: `);

/** The example's layer (the one after the input), or the input layer for InputLayer's example. */
const subject = (model: tf.LayersModel) => model.layers[model.layers.length - 1];

test('every table class has an example here, and the consumers support only table classes', () => {
  assert.deepEqual(Object.keys(EXAMPLES).sort(), [...LAYER_CLASSES].sort());
  for (const list of [SUPPORTED_LAYERS, ONNX_EXPORTABLE_LAYERS]) assert.ok(list.every((c) => LAYER_CLASSES.includes(c)));
});

for (const className of LAYER_CLASSES) {
  test(`${className}: explain, ONNX export and latency lookup each handle it or refuse it by name`, async () => {
    const model = EXAMPLES[className]();
    assert.equal(subject(model).getClassName(), className);
    const x = input(model);
    const want = model.predict(x) as tf.Tensor;

    // explain converts every table class.
    assert.ok(SUPPORTED_LAYERS.includes(className));
    const graph = buildGraph(model);
    const got = forward(graph, x);
    assert.ok(maxAbs(got.dataSync(), want.dataSync()) < 1e-5, 'explain forward');
    disposeGraph(graph);

    if (ONNX_EXPORTABLE_LAYERS.includes(className)) {
      assert.ok(toOnnxGraph(model).nodes.length > 0);
      if (ort) {
        const session = await runtimes.get('ort').load(model);
        const onnx = await session.run(x.dataSync() as Float32Array, 2);
        session.dispose();
        assert.ok(maxAbs(onnx, want.dataSync()) < 1e-4, 'onnxruntime output');
      }
    } else {
      assert.throws(() => toOnnxGraph(model), unsupported('ONNX export', subject(model)));
    }

    // Latency lookup: the input and dropout are free; every other class is an op that rebuilds alone.
    const ops = modelOps(model);
    if (className === 'InputLayer' || className === 'Dropout') {
      assert.deepEqual(ops, []);
    } else {
      assert.deepEqual(ops.map((o) => o.className), [className]);
      const alone = opModel(ops[0]);
      assert.deepEqual(alone.outputs[0].shape, model.outputs[0].shape);
      alone.dispose();
    }
    tf.dispose([x, want, got]);
    model.dispose();
  });
}

test('a layer outside the table is the same error, naming it, in explain, ONNX export and latency lookup', () => {
  const model = around([6], apply(tf.layers.layerNormalization({ name: 'ln' })));
  const layer = subject(model);
  assert.throws(() => buildGraph(model), unsupported('explain', layer));
  assert.throws(() => toOnnxGraph(model), unsupported('ONNX export', layer));
  assert.throws(() => modelOps(model), unsupported('latency lookup', layer));
  model.dispose();
});
