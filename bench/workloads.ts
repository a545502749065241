import { nextSeed, setSeed, tf } from '../src/backend/index.js';
import { createOptimizer } from '../src/train/index.js';

/**
 * The four workloads timed side by side with PyTorch (bench/torch_workloads.py has the same ones).
 * Each builds its model and data on the current backend (seeded) and returns one step to time plus a dispose. A step blocks until its result
 * is computed (it reads the loss), so wall time per call is the step time.
 */
export interface Workload {
  name: string;
  build(): { step: () => void; params: number; dispose: () => void };
}

const glorot = () => tf.initializers.glorotUniform({ seed: nextSeed() });

function convBnRelu6(x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, relu6 = true): tf.SymbolicTensor {
  let y = tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: glorot() })
    .apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  return relu6 ? tf.layers.reLU({ maxValue: 6 }).apply(y) as tf.SymbolicTensor : y;
}

/** MobileNetV2-style inverted bottleneck: 1x1 expand, 3x3 depthwise, 1x1 project, residual when shapes match. */
function invertedBottleneck(x: tf.SymbolicTensor, out: number, expand: number, strides: number): tf.SymbolicTensor {
  const cin = x.shape[3] as number;
  let y = convBnRelu6(x, cin * expand, 1, 1);
  y = tf.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: glorot() })
    .apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ maxValue: 6 }).apply(y) as tf.SymbolicTensor;
  y = convBnRelu6(y, out, 1, 1, false);
  return strides === 1 && cin === out ? tf.layers.add().apply([x, y]) as tf.SymbolicTensor : y;
}

/** 32x32x3 -> stride-2 conv 16 + BN + relu6 -> 3 inverted bottlenecks -> avg pool -> dense 10. */
export function buildCnn(): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, 3] });
  let x = convBnRelu6(input, 16, 3, 2);
  x = invertedBottleneck(x, 16, 4, 1);
  x = invertedBottleneck(x, 24, 4, 2);
  x = invertedBottleneck(x, 24, 4, 1);
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10, kernelInitializer: glorot() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

function classification(inputShape: number[], classes: number) {
  const x = tf.randomNormal(inputShape, 0, 1, 'float32', nextSeed());
  const labels = tf.randomUniform([inputShape[0]], 0, classes, 'int32', nextSeed());
  const y = tf.oneHot(labels, classes);
  labels.dispose();
  return { x, y };
}

/** One Adam step of `model` on a fixed batch. */
function adamWorkload(name: string, model: () => tf.LayersModel, inputShape: number[], classes: number): Workload {
  return {
    name,
    build() {
      setSeed(0);
      const m = model();
      const { x, y } = classification(inputShape, classes);
      const optimizer = createOptimizer('adam', { lr: 1e-3 });
      const step = () => tf.tidy(() => {
        optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor), true)!.dataSync();
      });
      return { step, params: m.countParams(), dispose: () => { m.dispose(); optimizer.dispose(); tf.dispose([x, y]); } };
    },
  };
}

function buildMlp(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [50], units: 256, activation: 'relu', kernelInitializer: glorot() }),
      tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: glorot() }),
      tf.layers.dense({ units: 2, kernelInitializer: glorot() }),
    ],
  });
}

/** Pre-norm transformer block (attention + MLP) as plain ops over variables. */
function transformerBlock(seq: number, dim: number, heads: number, hidden: number) {
  const v = (shape: number[], fanIn: number) =>
    tf.variable(tf.randomNormal(shape, 0, 1 / Math.sqrt(fanIn), 'float32', nextSeed()));
  const params = {
    wQkv: v([dim, 3 * dim], dim), wOut: v([dim, dim], dim), w1: v([dim, hidden], dim), w2: v([hidden, dim], hidden),
    bQkv: tf.variable(tf.zeros([3 * dim])), bOut: tf.variable(tf.zeros([dim])),
    b1: tf.variable(tf.zeros([hidden])), b2: tf.variable(tf.zeros([dim])),
    g1: tf.variable(tf.ones([dim])), g2: tf.variable(tf.ones([dim])),
  };
  const layerNorm = (x: tf.Tensor2D, gain: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gain) as tf.Tensor2D;
  };
  const headDim = dim / heads;
  const apply = (x: tf.Tensor3D): tf.Tensor3D => {
    const batch = x.shape[0];
    const rows = tf.reshape(x, [batch * seq, dim]) as tf.Tensor2D;
    const qkv = tf.add(tf.matMul(layerNorm(rows, params.g1), params.wQkv), params.bQkv);
    // [B*S, 3*D] -> 3 x [B, H, S, Dh]
    const [q, k, val] = tf.unstack(tf.transpose(tf.reshape(qkv, [batch, seq, 3, heads, headDim]), [2, 0, 3, 1, 4]));
    const scores = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)));
    const attended = tf.reshape(tf.transpose(tf.matMul(scores, val), [0, 2, 1, 3]), [batch * seq, dim]);
    const h = tf.add(rows, tf.add(tf.matMul(attended, params.wOut), params.bOut)) as tf.Tensor2D;
    const mlp = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(layerNorm(h, params.g2), params.w1), params.b1)), params.w2), params.b2);
    return tf.reshape(tf.add(h, mlp), [batch, seq, dim]);
  };
  const vars = Object.values(params);
  return { apply, vars, count: vars.reduce((n, t) => n + t.size, 0) };
}

export const WORKLOADS: Workload[] = [
  adamWorkload('cnn', buildCnn, [64, 32, 32, 3], 10),
  {
    name: 'cnn-infer',
    build() {
      setSeed(0);
      const m = buildCnn();
      const x = tf.randomNormal([64, 32, 32, 3], 0, 1, 'float32', nextSeed());
      return {
        // One batch of 64 (predict's default would run two of 32).
        step: () => tf.tidy(() => { (m.predict(x, { batchSize: 64 }) as tf.Tensor).dataSync(); }),
        params: m.countParams(),
        dispose: () => { m.dispose(); x.dispose(); },
      };
    },
  },
  adamWorkload('mlp', buildMlp, [256, 50], 2),
  {
    name: 'transformer',
    build() {
      setSeed(0);
      const block = transformerBlock(64, 128, 4, 512);
      const x = tf.randomNormal([16, 64, 128], 0, 1, 'float32', nextSeed()) as tf.Tensor3D;
      const step = () => tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(block.apply(x))) as tf.Scalar, block.vars);
        value.dataSync();
        tf.dispose(grads);
      });
      return { step, params: block.count, dispose: () => { tf.dispose(block.vars); x.dispose(); } };
    },
  },
];
