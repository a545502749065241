import path from 'node:path';
import { Command, Option } from 'commander';
import { backendOption, num } from '../flags.js';
import { KilnError, checkOutputDir, createProgress, type Progress } from '../../core/index.js';
import { initBackend, setSeed } from '../../backend/index.js';
import {
  datasets, fitStandardizer, loadDataset, numExamples, sample, splitDataset, standardize, type Splits, type Standardizer,
} from '../../data/index.js';
import { ACTIVATIONS, models, saveModel, type Activation } from '../../nn/index.js';
import { evaluate, fit, optimizers, schedules, type EpochLog } from '../../train/index.js';

interface TrainFlags {
  data: string;
  target?: string;
  model: string;
  hidden?: string;
  activation: string;
  dropout: string;
  epochs: string;
  batchSize: string;
  lr: string;
  optimizer: string;
  momentum?: string;
  schedule: string;
  warmupEpochs: string;
  labelSmoothing: string;
  patience?: string;
  val: string;
  test: string;
  limit?: string;
  seed: string;
  out?: string;
  json?: boolean;
  backend?: string;
}

function widths(value: string): number[] {
  return value.split(',').map((w) => num(w, '--hidden', { int: true, min: 1 }));
}

/** Tabular features are standardized with statistics of the training split; images stay in [0, 1]. */
function prepare(splits: Splits): { splits: Splits; standardizer: Standardizer | null } {
  if (splits.train.shape.length > 1) return { splits, standardizer: null };
  const s = fitStandardizer(splits.train);
  return {
    splits: { train: standardize(splits.train, s), val: standardize(splits.val, s), test: standardize(splits.test, s) },
    standardizer: s,
  };
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(4));

function epochSummary(log: EpochLog): string {
  return `loss ${fmt(log.loss)} acc ${fmt(log.accuracy)}` +
    (log.valLoss !== undefined ? ` val_loss ${fmt(log.valLoss)} val_acc ${fmt(log.valAccuracy)}` : '') +
    ` lr ${log.lr.toPrecision(3)} ${log.seconds.toFixed(1)}s`;
}

async function train(flags: TrainFlags): Promise<void> {
  await initBackend(flags.backend);
  const seed = num(flags.seed, '--seed', { int: true, min: 0 });
  const epochs = num(flags.epochs, '--epochs', { int: true, min: 1 });
  const batchSize = num(flags.batchSize, '--batch-size', { int: true, min: 1 });
  const patience = flags.patience === undefined ? undefined : num(flags.patience, '--patience', { int: true, min: 1 });
  const modelName = flags.model;

  const started = Date.now();
  let full = loadDataset(flags.data, { target: flags.target });
  if (flags.limit !== undefined) full = sample(full, num(flags.limit, '--limit', { int: true, min: 10 }), seed);
  const { splits, standardizer } = prepare(splitDataset(full, {
    val: num(flags.val, '--val', { min: 0, max: 0.9 }), test: num(flags.test, '--test', { min: 0.01, max: 0.9 }), seed,
  }));
  if (patience !== undefined && numExamples(splits.val) === 0) throw new KilnError('--patience needs a validation split (--val > 0)');

  setSeed(seed);
  const model = models.get(modelName)({
    inputShape: full.shape, numClasses: full.classNames.length,
    hidden: flags.hidden === undefined ? undefined : widths(flags.hidden),
    activation: flags.activation as Activation, dropout: num(flags.dropout, '--dropout', { min: 0, max: 0.95 }),
  });
  // Everything a later `kiln explain/attack` needs to feed the model the way it was trained.
  model.setUserDefinedMetadata({
    kiln: { data: full.name, classNames: full.classNames, featureNames: full.featureNames, inputShape: full.shape, standardizer },
  });

  const out = flags.out ?? path.join('runs', `${full.name}-${modelName}-seed${seed}`);
  checkOutputDir(out, '--out');
  const checkpointDir = path.join(out, 'checkpoint');
  const log = (line: string) => { if (!flags.json) process.stderr.write(line + '\n'); };
  log(`${full.name}: ${numExamples(splits.train)} train / ${numExamples(splits.val)} val / ${numExamples(splits.test)} test, ` +
    `${model.countParams()} parameters`);

  const batches = Math.ceil(numExamples(splits.train) / batchSize);
  const controller = new AbortController();
  const onSigint = () => {
    log('\nstopping after this batch (the checkpoint is saved; rerun the same command to resume)');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  // One progress line per epoch; its closing note is the epoch's summary.
  let progress: Progress | null = null;
  const epochProgress = (epoch: number) =>
    createProgress({ label: `epoch ${epoch + 1}/${epochs}`, total: batches, quiet: flags.json });
  const result = await fit(model, { train: splits.train, val: numExamples(splits.val) ? splits.val : undefined }, {
    epochs, batchSize, optimizer: flags.optimizer, lr: num(flags.lr, '--lr', { min: 0 }),
    momentum: flags.momentum === undefined ? undefined : num(flags.momentum, '--momentum', { min: 0, max: 0.999 }),
    schedule: flags.schedule, warmupEpochs: num(flags.warmupEpochs, '--warmup-epochs', { min: 0 }),
    labelSmoothing: num(flags.labelSmoothing, '--label-smoothing', { min: 0, max: 0.99 }),
    seed, earlyStopping: patience === undefined ? undefined : { patience },
    checkpointDir, signal: controller.signal,
    onResume: (r) => log(`resuming from ${checkpointDir} at epoch ${r.epoch + 1}, batch ${r.batch + 1}` +
      (r.changes.length ? `; changed since the checkpoint: ${r.changes.join(', ')}` : '')),
    onBatch: (e) => {
      progress ??= epochProgress(e.epoch);
      progress.update(e.batch + 1, `loss ${e.loss.toFixed(4)}`);
    },
    onEpoch: (l) => {
      (progress ?? epochProgress(l.epoch)).done(epochSummary(l));
      progress = null;
    },
  }).finally(() => process.removeListener('SIGINT', onSigint));

  if (result.aborted) {
    log(`interrupted during epoch ${result.history.length + 1}/${epochs}; checkpoint in ${checkpointDir}`);
    process.exitCode = 130;
    return;
  }
  const test = await evaluate(model, splits.test);
  const modelPath = await saveModel(model, out);
  const seconds = (Date.now() - started) / 1000;
  if (flags.json) {
    process.stdout.write(JSON.stringify({
      data: full.name, model: modelName, parameters: model.countParams(), epochs: result.epochs,
      stoppedEarly: result.stoppedEarly, bestEpoch: result.bestEpoch, resumedFrom: result.resumedFrom,
      test: { ...test, examples: numExamples(splits.test) }, history: result.history, modelPath, seconds,
    }) + '\n');
  } else {
    const notes = [result.stoppedEarly ? `stopped early, best epoch ${(result.bestEpoch ?? 0) + 1}` : '',
      result.resumedFrom ? (result.resumedFrom.epoch >= result.epochs ? 'already trained: loaded from the checkpoint'
        : `resumed at epoch ${result.resumedFrom.epoch + 1}`) : ''].filter(Boolean).join('; ');
    process.stdout.write(`test accuracy ${test.accuracy.toFixed(4)} (loss ${test.loss.toFixed(4)}, ` +
      `${numExamples(splits.test)} examples) after ${result.epochs} epoch(s)${notes ? ` (${notes})` : ''} in ${seconds.toFixed(1)}s\n` +
      `model saved to ${modelPath}\n`);
  }
  model.dispose();
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a classifier on a built-in dataset or a CSV file; resumable, seeded')
    .requiredOption('--data <name|file.csv>', `dataset (${datasets.names().join(', ')}) or a CSV file with a header`)
    .option('--target <column>', 'CSV label column (default: the last column)')
    .addOption(new Option('--model <name>', 'model builder').choices(models.names()).default('mlp'))
    .option('--hidden <widths>', 'mlp: comma-separated hidden widths (default 64,64); cnn: width of its dense layer (default 64)')
    .addOption(new Option('--activation <name>', 'mlp hidden activation').choices([...ACTIVATIONS]).default('relu'))
    .option('--dropout <rate>', 'dropout after hidden layers', '0')
    .option('--epochs <n>', 'training epochs', '10')
    .option('--batch-size <n>', 'examples per step', '32')
    .option('--lr <x>', 'base learning rate', '0.001')
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(optimizers.names()).default('adam'))
    .option('--momentum <m>', 'momentum of sgd (default 0.9) and rmsprop (default 0)')
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(schedules.names()).default('constant'))
    .option('--warmup-epochs <n>', 'warm-up length for the warmup schedules (may be fractional)', '1')
    .option('--label-smoothing <s>', 'label smoothing of the training loss, in [0, 1)', '0')
    .option('--patience <n>', 'early stopping: epochs without val_loss improvement (best weights are restored)')
    .option('--val <fraction>', 'validation fraction of each class', '0.15')
    .option('--test <fraction>', 'test fraction of each class', '0.15')
    .option('--limit <n>', 'use a seeded stratified sample of about n examples (quick runs on big sets)')
    .option('--seed <n>', 'seed of the split, initialization, shuffling and dropout', '0')
    .option('--out <dir>', 'output folder: model.json + weights.bin, checkpoint/ (default runs/DATA-MODEL-seedSEED)')
    .option('--json', 'print the result as JSON on stdout (no progress)')
    .addOption(backendOption())
    .addHelpText('after', `
Tabular features are standardized with training-split statistics (stored in model.json's
userDefinedMetadata.kiln with the class names); images are used as they are, in [0, 1].
A checkpoint is written to OUT/checkpoint after every epoch; Ctrl-C stops after the current
batch and saves it; re-running the same command resumes from it.

Examples:
  kiln train --data digits --model mlp --hidden 64,64 --epochs 20 --lr 0.003 --schedule cosine
  kiln train --data mnist --model cnn --epochs 3 --batch-size 64 --out runs/mnist-cnn
  kiln train --data my.csv --target label --optimizer sgd --lr 0.05 --patience 5`)
    .action(train);
}
