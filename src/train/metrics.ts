import { tf } from '../backend/index.js';
import { exampleSize, numExamples, type Dataset } from '../data/index.js';
import { logitsModel } from '../nn/index.js';

/**
 * Mean softmax cross-entropy of `logits` against integer `labels`. With label smoothing s the
 * target is (1 - s) * one-hot + s / classes, so a confident correct prediction still pays a cost.
 */
export function classificationLoss(logits: tf.Tensor, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.shape.length - 1] as number;
    const target = tf.oneHot(labels, classes);
    return tf.losses.softmaxCrossEntropy(target, logits, undefined, labelSmoothing) as tf.Scalar;
  });
}

/** Number of rows whose arg-max equals the label, as a scalar. */
export function countCorrect(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), labels), 'float32')) as tf.Scalar);
}

/** Examples `order[start..end)` of `ds` as a batch: x of shape [b, ...shape], int32 labels [b]. */
export function batchTensors(ds: Dataset, order: ArrayLike<number>, start: number, end: number): { x: tf.Tensor; y: tf.Tensor1D } {
  const size = exampleSize(ds);
  const b = end - start;
  const x = new Float32Array(b * size);
  const y = new Int32Array(b);
  for (let k = 0; k < b; k++) {
    const i = order[start + k];
    x.set(ds.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = ds.y[i];
  }
  return { x: tf.tensor(x, [b, ...ds.shape]), y: tf.tensor1d(y, 'int32') };
}

export interface EvalMetrics {
  loss: number;
  accuracy: number;
}

const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** Loss (plain cross-entropy) and accuracy of `model` on `ds`, in inference mode, batch by batch. */
export async function evaluate(model: tf.LayersModel, ds: Dataset, batchSize = 256): Promise<EvalMetrics> {
  const net = logitsModel(model);
  const n = numExamples(ds);
  const order = identity(n);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const [loss, right] = tf.tidy(() => {
      const { x, y } = batchTensors(ds, order, start, end);
      const logits = net.apply(x, { training: false }) as tf.Tensor;
      return [tf.mul(classificationLoss(logits, y), end - start), countCorrect(logits, y)];
    });
    lossSum += (await loss.data())[0];
    correct += (await right.data())[0];
    tf.dispose([loss, right]);
  }
  return { loss: lossSum / n, accuracy: correct / n };
}

/** Class probabilities of every example of `ds`, [n, classes]. */
export function predictProbs(model: tf.LayersModel, ds: Dataset, batchSize = 256): Float32Array {
  const n = numExamples(ds);
  const order = identity(n);
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    parts.push(tf.tidy(() => {
      const { x } = batchTensors(ds, order, start, end);
      return (model.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array;
    }));
  }
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
