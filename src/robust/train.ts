import { tf } from '../backend/index.js';
import type { Rng } from '../core/index.js';
import { createSchedule, trainStepsSync } from '../train/index.js';
import { LATENT_DIM, labelsOf, render, sampleLatents } from './problem.js';
import { pgdL2 } from './pgd.js';
import type { Classifier } from './attacks.js';

export interface InfiniteTrainOptions {
  steps: number;
  batchSize: number;
  /** Peak learning rate: linear warm-up over the first 3% of steps, then cosine decay to 1% of it. */
  learningRate: number;
  /** Standard deviation of Gaussian pixel noise added to every training image (0 = standard training). */
  sigma: number;
  rng: Rng;
  /**
   * PGD training (Madry et al. 2018) in image L2: every batch is replaced by Kiln's pgd-l2 examples
   * (random start, margin loss, `steps` steps of the ball, the model in inference mode) against the
   * current model. pgd-l2 keeps a point's first misclassified iterate, so points just across the
   * boundary are trained on rather than the loss maximiser.
   */
  adversarial?: { eps: number; steps: number };
  /** Called every `logEvery` steps with the step and the mean loss since the last call. */
  onLog?: (step: number, loss: number) => void;
  logEvery?: number;
}

/**
 * Trains a two-class logit model on "infinite data": every step renders a fresh batch of latents
 * drawn uniformly from the box, so the model never sees the same example twice (the paper's
 * approximation of training with unlimited data). With `sigma > 0` the images get Gaussian noise,
 * which inflates the manifold. Adam, cross-entropy on logits; the warm-up + cosine schedule lets a
 * high peak rate learn fast early while the decayed end settles the boundary, which a constant rate
 * keeps jittering on fresh batches.
 */
export function trainInfinite(model: tf.LayersModel, opts: InfiniteTrainOptions): void {
  const optimizer = tf.train.adam(opts.learningRate);
  const schedule = createSchedule('warmup-cosine', { lr: opts.learningRate, totalSteps: opts.steps,
    warmupSteps: Math.ceil(0.03 * opts.steps), minLr: 0.01 * opts.learningRate });
  const logEvery = opts.logEvery ?? 100;
  let lossSum = 0;
  try {
    trainStepsSync({
      optimizer, schedule, to: opts.steps,
      batch: () => {
        const z = sampleLatents(opts.batchSize, opts.rng);
        const y = labelsOf(z);
        const noiseSeed = opts.rng.int(2 ** 31 - 1);
        const clean = tf.tidy((): tf.Tensor4D => {
          const images = render(tf.tensor2d(z, [opts.batchSize, LATENT_DIM]));
          return opts.sigma > 0 ? images.add(tf.randomNormal(images.shape, 0, opts.sigma, 'float32', noiseSeed)) : images;
        });
        const labels = tf.tensor1d(y, 'int32');
        const x = opts.adversarial ? adversarialBatch(model, clean, labels, opts.adversarial, noiseSeed) : clean;
        if (x !== clean) clean.dispose();
        const onehot = tf.oneHot(labels, 2);
        labels.dispose();
        return { x, labels: onehot };
      },
      loss: ({ x, labels }) => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      release: ({ x, labels }) => tf.dispose([x, labels]),
      onStep: ({ step, loss }) => {
        if (!opts.onLog) return;
        lossSum += loss;
        const done = step + 1;
        if (done % logEvery === 0 || done === opts.steps) {
          opts.onLog(done, lossSum / (done % logEvery || logEvery));
          lossSum = 0;
        }
      },
    });
  } finally {
    optimizer.dispose();
  }
}

function adversarialBatch(model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor1D, o: { eps: number; steps: number }, seed: number): tf.Tensor4D {
  const classifier: Classifier = (images) => model.apply(images, { training: false }) as tf.Tensor2D;
  return pgdL2.run(classifier, x, y, { eps: o.eps, steps: o.steps, seed }).x;
}
