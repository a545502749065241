import { setSeed, tf } from '../../backend/index.js';
import { numExamples, sample, subset, type Splits } from '../../data/index.js';
import { evaluate, fit, type BatchEvent } from '../../train/index.js';
import { recalibrateBatchNorm } from './batchnorm.js';

export interface StandaloneOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export interface StandaloneResult {
  valAccuracy: number;
  testAccuracy: number;
  seconds: number;
}

/**
 * Trains `build()` from scratch with Kiln's fit loop (Adam, cosine schedule) and scores it on the
 * validation and test splits: the "trained standalone" number every one-shot result is judged by.
 */
export async function trainStandalone(build: () => tf.LayersModel, splits: Splits, o: StandaloneOptions): Promise<StandaloneResult & { model: tf.LayersModel }> {
  const t0 = performance.now();
  setSeed(o.seed);
  const model = build();
  await fit(model, { train: splits.train }, { epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, schedule: 'cosine', seed: o.seed });
  const val = await evaluate(model, splits.val);
  const test = await evaluate(model, splits.test);
  return { model, valAccuracy: val.accuracy, testAccuracy: test.accuracy, seconds: (performance.now() - t0) / 1000 };
}

export interface StepBudgetOptions {
  /** Optimizer steps (the compute budget); the actual count is rounded to whole batches. */
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Called after every optimizer step (its loss), e.g. to draw the training curve. */
  onBatch?: (e: BatchEvent) => void;
}

/**
 * Standalone training under a step budget rather than an epoch count, so searches can be
 * compared at equal training compute: fit() runs whole epochs over a seeded subset of
 * ceil(steps / epochs) batches, with as few epochs as cover the budget. BN layers are then
 * recalibrated on training batches, since their moving averages (momentum 0.99, started at 0/1)
 * still lag after a few hundred steps.
 */
export async function trainForSteps(build: () => tf.LayersModel, splits: Splits, o: StepBudgetOptions): Promise<StandaloneResult & { model: tf.LayersModel; steps: number }> {
  const t0 = performance.now();
  const n = numExamples(splits.train);
  const epochs = Math.ceil((o.steps * o.batchSize) / n);
  const batches = Math.ceil(o.steps / epochs);
  // sample() is stratified, so its size can round past the budget: keep exactly the first `size`.
  const size = Math.min(n, batches * o.batchSize);
  const train = subset(sample(splits.train, size, o.seed), Array.from({ length: size }, (_, i) => i));
  setSeed(o.seed);
  const model = build();
  await fit(model, { train }, { epochs, batchSize: o.batchSize, lr: o.lr, schedule: 'cosine', seed: o.seed, onBatch: o.onBatch });
  recalibrateBatchNorm(model, train, 16, o.batchSize * 2);
  const { valAccuracy, testAccuracy } = await scoreModel(model, splits);
  return { model, steps: epochs * Math.ceil(numExamples(train) / o.batchSize), valAccuracy, testAccuracy, seconds: (performance.now() - t0) / 1000 };
}

/** Validation and test accuracy of an already-built model (e.g. a child with inherited weights). */
export async function scoreModel(model: tf.LayersModel, splits: Splits): Promise<{ valAccuracy: number; testAccuracy: number }> {
  return { valAccuracy: (await evaluate(model, splits.val)).accuracy, testAccuracy: (await evaluate(model, splits.test)).accuracy };
}
