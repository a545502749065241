import { tf } from '../backend/index.js';
import type { Rng } from '../core/index.js';
import { createSchedule, setLearningRate } from '../train/index.js';
import { LATENT_DIM, labelsOf, render, sampleLatents } from './problem.js';

export interface InfiniteTrainOptions {
  steps: number;
  batchSize: number;
  /** Peak learning rate: linear warm-up over the first 3% of steps, then cosine decay to 1% of it. */
  learningRate: number;
  /** Standard deviation of Gaussian pixel noise added to every training image (0 = standard training). */
  sigma: number;
  rng: Rng;
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
  for (let step = 1; step <= opts.steps; step++) {
    setLearningRate(optimizer, schedule(step - 1));
    const z = sampleLatents(opts.batchSize, opts.rng);
    const y = labelsOf(z);
    const noiseSeed = opts.rng.int(2 ** 31 - 1);
    const loss = tf.tidy(() => {
      const clean = render(tf.tensor2d(z, [opts.batchSize, LATENT_DIM]));
      const x = opts.sigma > 0 ? clean.add(tf.randomNormal(clean.shape, 0, opts.sigma, 'float32', noiseSeed)) : clean;
      const labels = tf.oneHot(tf.tensor1d(y, 'int32'), 2);
      return optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      )!;
    });
    if (opts.onLog) {
      lossSum += loss.dataSync()[0];
      if (step % logEvery === 0 || step === opts.steps) {
        opts.onLog(step, lossSum / (step % logEvery || logEvery));
        lossSum = 0;
      }
    }
    loss.dispose();
  }
  optimizer.dispose();
}
