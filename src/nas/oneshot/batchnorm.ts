import { tf } from '../../backend/index.js';
import { numExamples, type Dataset } from '../../data/index.js';
import { batchTensors } from '../../train/index.js';

/** Images resized to the model's input side when they differ (BigNAS children run at their own resolution). */
export function fitInput(model: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  const shape = model.inputs[0].shape;
  if (x.rank !== 4 || (shape[1] === x.shape[1] && shape[2] === x.shape[2])) return x;
  return tf.image.resizeBilinear(x as tf.Tensor4D, [shape[1]!, shape[2]!]);
}

/**
 * BN recalibration (BigNAS): a child cut from a supernet has no BN statistics of its own, so each
 * BN layer's moving mean and variance are set to the average batch mean and variance of its input
 * over `batches` training batches, with the network in training mode (earlier BNs normalize with
 * batch statistics, as in the supernet).
 */
export function recalibrateBatchNorm(model: tf.LayersModel, ds: Dataset, batches = 8, batchSize = 64): void {
  const layers = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
  if (!layers.length) return;
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.input as tf.SymbolicTensor) });
  const n = numExamples(ds);
  const sums = layers.map(() => ({ mean: null as tf.Tensor | null, variance: null as tf.Tensor | null }));
  let count = 0;
  for (let b = 0; b < batches; b++) {
    const start = (b * batchSize) % Math.max(1, n - batchSize + 1);
    const end = Math.min(n, start + batchSize);
    const order = Int32Array.from({ length: end - start }, (_, i) => start + i);
    const { x, y } = batchTensors(ds, order, 0, order.length);
    tf.tidy(() => {
      const outs = probe.apply(fitInput(model, x), { training: true }) as tf.Tensor[];
      outs.forEach((t, i) => {
        const { mean, variance } = tf.moments(t, [0, 1, 2].slice(0, t.rank - 1));
        const s = sums[i];
        const m = s.mean ? tf.add(s.mean, mean) : mean;
        const v = s.variance ? tf.add(s.variance, variance) : variance;
        tf.dispose([s.mean, s.variance].filter((z): z is tf.Tensor => z !== null));
        s.mean = tf.keep(m);
        s.variance = tf.keep(v);
      });
    });
    tf.dispose([x, y]);
    count++;
  }
  layers.forEach((layer, i) => {
    const [gamma, beta] = layer.getWeights();
    const mean = tf.div(sums[i].mean!, count);
    const variance = tf.div(sums[i].variance!, count);
    layer.setWeights([gamma, beta, mean, variance]);
    tf.dispose([mean, variance, sums[i].mean!, sums[i].variance!]);
  });
}
