import fs from 'node:fs';
import path from 'node:path';
import { KilnError, type OptionSpec } from '../../core/index.js';
import { initBackend, type tf } from '../../backend/index.js';
import { datasets, exampleSize, loadDataset, splitDataset, standardizeSplits } from '../../data/index.js';
import { mlp, saveModel } from '../../nn/index.js';
import { linePlot } from '../../report/index.js';
import { setClassifierMetadata } from '../../train/index.js';
import type { Evaluator, EvaluatorContext } from '../evaluators.js';
import { spaces, type Architecture } from '../space/index.js';
import { mlpParams, mlpWidths } from './mlp-supernet.js';
import { trainForSteps } from './standalone.js';

/** Metrics of a trained trial: accuracies on the held-out splits, the model's size and what training cost. */
export const TRAIN_METRICS = ['val_acc', 'test_acc', 'params', 'train_steps', 'train_seconds'] as const;

/**
 * The training evaluator's options. A study stores them, so every worker trains with the same
 * data split, budget and seed; the dataset is a registered name because each worker loads it itself.
 */
export const TRAIN_EVALUATOR_OPTIONS: readonly OptionSpec[] = [
  { name: 'dataset', type: 'string', choices: datasets.names(), default: 'digits', description: 'dataset each candidate trains and is scored on (seeded 70/15/15 split; tabular sets standardized)' },
  { name: 'steps', type: 'integer', min: 1, default: 200, description: 'optimizer steps each candidate trains (Adam, cosine schedule)' },
  { name: 'batch', type: 'integer', min: 1, default: 32, description: 'batch size' },
  { name: 'lr', type: 'number', min: 0, default: 0.01, description: 'learning rate (must be above 0)' },
  { name: 'seed', type: 'integer', min: 0, default: 0, description: 'seed of the split, the training subset and the initial weights (the same for every candidate)' },
];

/** The MLP width spaces (mlp2, mlp3, ...): the spaces this evaluator can build a model from. */
const isMlpSpace = (name: string) => /^mlp\d+$/.test(name);

/**
 * Trains each candidate from scratch for a fixed step budget and scores it: the standalone
 * evaluation that table lookups stand in for. The candidate of an MLP width space is
 * inputs -> ReLU layers of its widths -> classes; the objective is usually `val_acc` (test
 * accuracy is recorded but left for the final report, as searches should not select on it).
 */
export function trainEvaluator(ctx: EvaluatorContext): Evaluator {
  const { space } = ctx;
  if (!isMlpSpace(space.name)) {
    throw new KilnError(`the 'train' evaluator builds MLPs from an MLP width space (--space ${spaces.names().filter(isMlpSpace).join(', ')}); space '${space.name}' has no model builder`);
  }
  const o = ctx.options ?? {};
  const [dataset, steps, batchSize, lr, seed] = [o.dataset, o.steps, o.batch, o.lr, o.seed] as [string, number, number, number, number];
  if (!(lr > 0)) throw new KilnError(`option 'lr' of evaluator 'train' must be above 0 (got ${lr})`);
  const ds = loadDataset(dataset);
  const { splits, standardizer } = standardizeSplits(splitDataset(ds, { seed }));
  const classes = ds.classNames.length;
  const params = (a: Architecture) => mlpParams(exampleSize(ds), mlpWidths(space, a), classes);
  return {
    name: 'train',
    metrics: TRAIN_METRICS,
    // Known from the widths alone, so a `params<=N` constraint costs no training.
    costs: [{ name: 'params', metric: 'params', cost: params }],
    async evaluate(a, _signal, artifacts) {
      await initBackend();
      const widths = mlpWidths(space, a);
      const losses: number[] = [];
      const r = await trainForSteps(() => mlp({ inputs: ds.shape, hidden: widths, outputs: classes }), splits, {
        steps, batchSize, lr, seed, onBatch: artifacts === undefined ? undefined : (e) => losses.push(e.loss),
      });
      try {
        const metrics = {
          val_acc: r.valAccuracy, test_acc: r.testAccuracy, params: params(a),
          train_steps: r.steps, train_seconds: r.seconds,
        };
        if (artifacts !== undefined) {
          setClassifierMetadata(r.model, ds, standardizer);
          await keepTrainedTrial(artifacts, r.model, losses, {
            arch: space.toString(a), widths, evaluator: 'train', options: { dataset, steps, batch: batchSize, lr, seed }, metrics,
          });
        }
        return metrics;
      } finally {
        r.model.dispose();
      }
    },
  };
}

/**
 * A trained trial's files: the model in tfjs format, tagged as `kiln train` tags its models (so
 * `kiln explain` feeds it its data the way it was trained), its training-loss curve, and trial.json
 * (the architecture, the training settings and the scores).
 */
async function keepTrainedTrial(dir: string, model: tf.LayersModel, losses: readonly number[], record: object): Promise<void> {
  await saveModel(model, dir);
  fs.writeFileSync(path.join(dir, 'loss.svg'), linePlot([{ name: 'training loss', x: losses.map((_, i) => i + 1), y: [...losses] }], {
    title: 'Training loss of this trial', xLabel: 'optimizer step', yLabel: 'cross-entropy',
  }));
  fs.writeFileSync(path.join(dir, 'trial.json'), JSON.stringify(record, null, 2) + '\n');
}
