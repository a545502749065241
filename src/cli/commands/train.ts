import path from 'node:path';
import { Command, Option } from 'commander';
import { backendOption, interruptSignal, num } from '../flags.js';
import { KilnError, checkOutputDir, createProgress, type Progress } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import { datasets } from '../../data/index.js';
import { ACTIVATIONS, models, type Activation } from '../../nn/index.js';
import { optimizers, schedules, trainClassifier, type ClassifierJob, type EpochLog } from '../../train/index.js';
import { ADVERSARIAL_TRAINING } from '../../robust/index.js';

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
  adversarial?: string;
  eps?: string;
  steps?: string;
  epsRamp?: string;
  beta?: string;
}

function widths(value: string): number[] {
  return value.split(',').map((w) => num(w, '--hidden', { int: true, min: 1 }));
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(4));

function epochSummary(log: EpochLog): string {
  return `loss ${fmt(log.loss)} acc ${fmt(log.accuracy)}` +
    (log.valLoss !== undefined ? ` val_loss ${fmt(log.valLoss)} val_acc ${fmt(log.valAccuracy)}` : '') +
    ` lr ${log.lr.toPrecision(3)} ${log.seconds.toFixed(1)}s`;
}

async function train(flags: TrainFlags): Promise<void> {
  const seed = num(flags.seed, '--seed', { int: true, min: 0 });
  const epochs = num(flags.epochs, '--epochs', { int: true, min: 1 });
  const batchSize = num(flags.batchSize, '--batch-size', { int: true, min: 1 });
  const job: ClassifierJob = {
    data: flags.data, target: flags.target, model: flags.model, seed, epochs, batchSize,
    limit: flags.limit === undefined ? undefined : num(flags.limit, '--limit', { int: true, min: 10 }),
    hidden: flags.hidden === undefined ? undefined : widths(flags.hidden),
    activation: flags.activation as Activation, dropout: num(flags.dropout, '--dropout', { min: 0, max: 0.95 }),
    val: num(flags.val, '--val', { min: 0, max: 0.9 }), test: num(flags.test, '--test', { min: 0.01, max: 0.9 }),
    patience: flags.patience === undefined ? undefined : num(flags.patience, '--patience', { int: true, min: 1 }),
    optimizer: flags.optimizer, lr: num(flags.lr, '--lr', { min: 0 }),
    momentum: flags.momentum === undefined ? undefined : num(flags.momentum, '--momentum', { min: 0, max: 0.999 }),
    schedule: flags.schedule, warmupEpochs: num(flags.warmupEpochs, '--warmup-epochs', { min: 0 }),
    labelSmoothing: num(flags.labelSmoothing, '--label-smoothing', { min: 0, max: 0.99 }),
    out: flags.out ?? path.join('runs', `${path.basename(flags.data, '.csv')}-${flags.model}-seed${seed}`),
  };
  if (job.patience !== undefined && job.val === 0) throw new KilnError('--patience needs a validation split (--val > 0)');
  if (flags.adversarial !== undefined) {
    if (flags.eps === undefined) throw new KilnError(`--adversarial ${flags.adversarial} needs --eps (the Linf budget on pixels in [0, 1])`);
    job.objective = ADVERSARIAL_TRAINING[flags.adversarial as keyof typeof ADVERSARIAL_TRAINING]({
      eps: num(flags.eps, '--eps', { min: 0, max: 1 }),
      steps: flags.steps === undefined ? undefined : num(flags.steps, '--steps', { int: true, min: 1 }),
      beta: flags.beta === undefined ? undefined : num(flags.beta, '--beta', { min: 0 }),
      epsRamp: flags.epsRamp === undefined ? undefined : num(flags.epsRamp, '--eps-ramp', { int: true, min: 0 }),
    }, seed);
  } else if (flags.eps !== undefined || flags.steps !== undefined || flags.beta !== undefined || flags.epsRamp !== undefined) {
    throw new KilnError('--eps, --steps, --beta and --eps-ramp set adversarial training: add --adversarial pgd or trades');
  }
  checkOutputDir(job.out, '--out');
  await initBackend(flags.backend);

  const log = (line: string) => { if (!flags.json) process.stderr.write(line + '\n'); };
  const stop = interruptSignal('stopping after this batch (the checkpoint is saved; rerun the same command to resume)');
  // One progress line per epoch; its closing note is the epoch's summary.
  let progress: Progress | null = null;
  let batches = 0;
  const epochProgress = (epoch: number) => createProgress({ label: `epoch ${epoch + 1}/${epochs}`, total: batches, quiet: flags.json });
  const run = await trainClassifier({
    ...job, signal: stop.signal,
    onReady: (r) => {
      if (job.objective && r.inputShape.length !== 3) throw new KilnError(`adversarial training needs images with pixels in [0, 1]; '${r.dataset}' is tabular`);
      batches = Math.ceil(r.sizes.train / batchSize);
      log(`${r.dataset}: ${r.sizes.train} train / ${r.sizes.val} val / ${r.sizes.test} test, ${r.parameters} parameters`);
    },
    onResume: (r) => log(`resuming from ${path.join(job.out, 'checkpoint')} at epoch ${r.epoch + 1}, batch ${r.batch + 1}` +
      (r.changes.length ? `; changed since the checkpoint: ${r.changes.join(', ')}` : '')),
    onBatch: (e) => {
      progress ??= epochProgress(e.epoch);
      progress.update(e.batch + 1, `loss ${e.loss.toFixed(4)}`);
    },
    onEpoch: (l) => {
      (progress ?? epochProgress(l.epoch)).done(epochSummary(l));
      progress = null;
    },
  }).finally(() => stop.dispose());

  const result = run.fit;
  if (!run.test || !run.modelPath) {
    log(`interrupted during epoch ${result.history.length + 1}/${epochs}; checkpoint in ${run.checkpointDir}`);
    process.exitCode = 130;
    return;
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify({
      data: run.dataset, model: run.model, parameters: run.parameters, epochs: result.epochs,
      stoppedEarly: result.stoppedEarly, bestEpoch: result.bestEpoch, resumedFrom: result.resumedFrom,
      test: run.test, history: result.history, modelPath: run.modelPath, seconds: run.seconds,
    }) + '\n');
  } else {
    const notes = [result.stoppedEarly ? `stopped early, best epoch ${(result.bestEpoch ?? 0) + 1}` : '',
      result.resumedFrom ? (result.resumedFrom.epoch >= result.epochs ? 'already trained: loaded from the checkpoint'
        : `resumed at epoch ${result.resumedFrom.epoch + 1}`) : ''].filter(Boolean).join('; ');
    process.stdout.write(`test accuracy ${run.test.accuracy.toFixed(4)} (loss ${run.test.loss.toFixed(4)}, ` +
      `${run.test.examples} examples) after ${result.epochs} epoch(s)${notes ? ` (${notes})` : ''} in ${run.seconds.toFixed(1)}s\n` +
      `model saved to ${run.modelPath}\n`);
  }
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
    .addOption(new Option('--adversarial <method>', 'adversarial training: pgd (Madry et al.) or trades (Zhang et al.); images only').choices(Object.keys(ADVERSARIAL_TRAINING)))
    .option('--eps <e>', 'adversarial training: Linf budget on pixels, in (0, 1]')
    .option('--steps <n>', 'adversarial training: PGD steps of the inner attack (default 10; step size 2.5 eps / steps)')
    .option('--eps-ramp <n>', 'adversarial training: grow eps linearly from 0 to --eps over the first N optimizer steps (default 0: full eps at once)')
    .option('--beta <b>', 'TRADES: weight of the robustness term (default 6)')
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
