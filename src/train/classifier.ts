import path from 'node:path';
import { KilnError, checkOutputDir } from '../core/index.js';
import { ensureBackend, setSeed, type tf } from '../backend/index.js';
import { loadDataset, numExamples, sample, splitDataset, standardizeSplits, type Dataset, type Standardizer } from '../data/index.js';
import { models, saveModel, type ModelSpec } from '../nn/index.js';
import { fit, type FitOptions, type FitResult } from './fit.js';
import { evaluate, type EvalMetrics } from './metrics.js';

/** One `kiln train` job: a dataset, a registered model builder, a split and the fit settings. */
export interface ClassifierJob extends Omit<FitOptions, 'checkpointDir' | 'seed' | 'earlyStopping' | 'resume'> {
  /** A registered dataset name or a CSV file. */
  data: string;
  /** CSV label column (default: the last column). */
  target?: string;
  /** A seeded stratified sample of about this many examples. */
  limit?: number;
  /** Registered model builder (`models.names()`), default 'mlp'. */
  model?: string;
  hidden?: ModelSpec['hidden'];
  activation?: ModelSpec['activation'];
  dropout?: number;
  /** Validation and test fractions of each class (default 0.15 each). */
  val?: number;
  test?: number;
  /** Seeds the split, the initialization, the shuffles and dropout. */
  seed?: number;
  /** Early stopping on val_loss after this many epochs without improvement (best weights restored). */
  patience?: number;
  /** Output folder: model.json + weights.bin, and checkpoint/ (resumed when present). */
  out: string;
  /** Called once the data is split and the model built, before training. */
  onReady?: (info: ClassifierReady) => void;
}

export interface ClassifierReady {
  dataset: string;
  /** Shape of one example ([h, w, c] for images, [features] for tables). */
  inputShape: number[];
  /** Examples in each split. */
  sizes: { train: number; val: number; test: number };
  parameters: number;
  checkpointDir: string;
}

export interface ClassifierRun extends ClassifierReady {
  model: string;
  fit: FitResult;
  /** Test metrics and where the model was saved; null when the fit was aborted (its checkpoint is kept). */
  test: (EvalMetrics & { examples: number }) | null;
  modelPath: string | null;
  seconds: number;
}

/** Tabular features are standardized with statistics of the training split; images stay in [0, 1]. */
/**
 * Stores in the model what a later `kiln explain/attack` needs to feed it the way it was trained:
 * the dataset's name, classes, features, input shape and the tabular standardizer.
 */
export function setClassifierMetadata(model: tf.LayersModel, ds: Dataset, standardizer: Standardizer | null): void {
  model.setUserDefinedMetadata({
    kiln: { data: ds.name, classNames: ds.classNames, featureNames: ds.featureNames, inputShape: ds.shape, standardizer },
  });
}

/**
 * Trains a classifier end to end as `kiln train` does: load, split, standardize tabular features,
 * build, fit with a checkpoint in `out/checkpoint` (resumed when present), evaluate on the test
 * split and save the model with the metadata `kiln explain` and `kiln attack` read back.
 */
export async function trainClassifier(job: ClassifierJob): Promise<ClassifierRun> {
  await ensureBackend();
  const started = Date.now();
  const seed = job.seed ?? 0;
  const modelName = job.model ?? 'mlp';
  const build = models.get(modelName);
  checkOutputDir(job.out, 'output folder');
  let full: Dataset = loadDataset(job.data, { target: job.target });
  if (job.limit !== undefined) full = sample(full, job.limit, seed);
  const { splits, standardizer } = standardizeSplits(splitDataset(full, { val: job.val ?? 0.15, test: job.test ?? 0.15, seed }));
  const hasVal = numExamples(splits.val) > 0;
  if (job.patience !== undefined && !hasVal) throw new KilnError('early stopping (patience) needs a validation split (val > 0)');

  setSeed(seed);
  const model = build({ inputShape: full.shape, numClasses: full.classNames.length, hidden: job.hidden, activation: job.activation, dropout: job.dropout });
  try {
    setClassifierMetadata(model, full, standardizer);
    const ready: ClassifierReady = {
      dataset: full.name, inputShape: full.shape, sizes: { train: numExamples(splits.train), val: numExamples(splits.val), test: numExamples(splits.test) },
      parameters: model.countParams(), checkpointDir: path.join(job.out, 'checkpoint'),
    };
    job.onReady?.(ready);
    const { data: _d, target: _t, limit: _l, model: _m, hidden: _h, activation: _a, dropout: _p, val: _v, test: _s, patience, out, onReady: _r, ...fitOptions } = job;
    const result = await fit(model, { train: splits.train, val: hasVal ? splits.val : undefined }, {
      ...fitOptions, seed, checkpointDir: ready.checkpointDir, earlyStopping: patience === undefined ? undefined : { patience },
    });
    const finished = !result.aborted;
    const test = finished ? { ...await evaluate(model, splits.test), examples: ready.sizes.test } : null;
    const modelPath = finished ? await saveModel(model, out) : null;
    return { ...ready, model: modelName, fit: result, test, modelPath, seconds: (Date.now() - started) / 1000 };
  } finally {
    model.dispose();
  }
}
