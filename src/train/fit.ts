import { KilnError, check, createRng } from '../core/index.js';
import { ensureBackend, tf } from '../backend/index.js';
import { numExamples, type Dataset } from '../data/index.js';
import { logitsModel, reseedDropout } from '../nn/index.js';
import { batchTensors, classificationLoss, countCorrect, evaluate } from './metrics.js';
import { createOptimizer } from './optimizers.js';
import { trainSteps } from './steps.js';
import { createSchedule } from './schedules.js';
import { loadCheckpoint, saveCheckpoint, type EpochLog, type TrainState } from './checkpoint.js';

export interface FitData {
  train: Dataset;
  /** Scored after every epoch; drives early stopping when given. */
  val?: Dataset;
}

export type Monitor = 'val_loss' | 'val_accuracy' | 'loss' | 'accuracy';

export interface EarlyStopping {
  /** Epochs without improvement before stopping. */
  patience: number;
  /** Smallest change that counts as an improvement. */
  minDelta?: number;
  /** Default: val_loss with validation data, else loss. */
  monitor?: Monitor;
  /** Put back the weights of the best epoch at the end (default true). */
  restoreBest?: boolean;
}

export interface BatchEvent {
  epoch: number;
  batch: number;
  batches: number;
  step: number;
  loss: number;
  lr: number;
}

/** A resumed fit: where it continues, and each setting that changed since the checkpoint ('lr 0.001 -> 0.0005'). */
export interface ResumeEvent {
  epoch: number;
  batch: number;
  changes: string[];
}

export interface FitOptions {
  epochs: number;
  batchSize?: number;
  /** Registered optimizer name: adam, sgd, rmsprop. */
  optimizer?: string;
  lr?: number;
  momentum?: number;
  /** Registered schedule name: constant, cosine, warmup, warmup-cosine. */
  schedule?: string;
  /** Warm-up length in epochs (may be fractional) for the warmup schedules. */
  warmupEpochs?: number;
  minLr?: number;
  labelSmoothing?: number;
  /** Seeds the per-epoch shuffles and dropout masks (model init is seeded by the builder). */
  seed?: number;
  earlyStopping?: EarlyStopping;
  /** Folder for checkpoints; an existing checkpoint there is resumed unless resume is false. */
  checkpointDir?: string;
  checkpointEvery?: number;
  resume?: boolean;
  onBatch?: (e: BatchEvent) => void;
  onEpoch?: (log: EpochLog) => void;
  /** The loss each step minimises (default: the classification loss of the batch). */
  objective?: TrainingObjective;
  /** Called once when a checkpoint is resumed, with the settings that differ from the checkpoint's run. */
  onResume?: (e: ResumeEvent) => void;
  /** Stops after the current batch; with checkpointDir the position is saved for a later resume. */
  signal?: AbortSignal;
}

export interface FitResult {
  history: EpochLog[];
  /** Epochs completed in total, including those before a resume. */
  epochs: number;
  stoppedEarly: boolean;
  aborted: boolean;
  /** Epoch whose weights the model holds after early stopping restored them. */
  bestEpoch: number | null;
  resumedFrom: { epoch: number; batch: number } | null;
}

/** A batch of fit's loop; the loss keeps the count of correct predictions in it for the epoch's accuracy. */
interface FitBatch {
  x: tf.Tensor;
  y: tf.Tensor1D;
  correct?: tf.Scalar;
  /** What the objective's `prepare` made for this batch (adversarial inputs), disposed with it. */
  prepared: tf.Tensor[];
}

/**
 * What a step minimises, when not the plain classification loss of the batch: adversarial training
 * (Madry's PGD, TRADES) crafts inputs in `prepare`, outside the gradient tape, then trains on them.
 */
export interface TrainingObjective {
  /** Names the objective and its settings; a resume with another one is reported as a change. */
  readonly name: string;
  /** Tensors the loss reads (kept; fit disposes them after the step). `net` gives logits; use it with training: false. */
  prepare?(net: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, step: number): tf.Tensor[];
  /** The loss to minimise and the logits whose argmax counts as the batch's training accuracy. */
  loss(net: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, prepared: tf.Tensor[], smoothing: number): { loss: tf.Scalar; logits: tf.Tensor };
}

/** FNV-style mix of integers into one 32-bit seed, so each (seed, epoch) gets its own stream. */
function mixSeed(...parts: number[]): number {
  let h = 2166136261;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 16777619);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  return Int32Array.from(createRng(mixSeed(seed, epoch)).shuffle(Array.from({ length: n }, (_, i) => i)));
}

function checkCompatible(model: tf.LayersModel, ds: Dataset): void {
  const inShape = model.inputs[0].shape.slice(1);
  check(tf.util.arraysEqual(inShape as number[], ds.shape),
    `model expects examples of shape [${inShape}] but '${ds.name}' has [${ds.shape}]`);
  const outShape = model.outputs[0].shape;
  check(outShape[outShape.length - 1] === ds.classNames.length,
    `model has ${outShape[outShape.length - 1]} outputs but '${ds.name}' has ${ds.classNames.length} classes`);
}

/**
 * Kiln's training loop: seeded shuffling, named optimizer and schedule, label smoothing, train and
 * validation metrics, early stopping, resumable checkpoints and a clean abort. Every tensor it
 * makes is disposed, so the tensor count is flat from one epoch to the next.
 */
export async function fit(model: tf.LayersModel, data: FitData, options: FitOptions): Promise<FitResult> {
  await ensureBackend();
  const train = data.train;
  const n = numExamples(train);
  const epochs = options.epochs;
  const batchSize = options.batchSize ?? 32;
  const optimizerName = options.optimizer ?? 'adam';
  const lr = options.lr ?? 1e-3;
  const seed = options.seed ?? 0;
  const smoothing = options.labelSmoothing ?? 0;
  check(n > 0, `training set '${train.name}' is empty`);
  check(Number.isInteger(epochs) && epochs >= 1, `epochs must be a positive integer (got ${epochs})`);
  check(Number.isInteger(batchSize) && batchSize >= 1, `batch size must be a positive integer (got ${batchSize})`);
  check(smoothing >= 0 && smoothing < 1, `label smoothing must be in [0, 1) (got ${smoothing})`);
  checkCompatible(model, train);
  if (data.val) {
    check(numExamples(data.val) > 0, `validation set '${data.val.name}' is empty (leave it out instead)`);
    checkCompatible(model, data.val);
  }

  const batches = Math.ceil(n / batchSize);
  const schedule = createSchedule(options.schedule ?? 'constant', {
    lr, totalSteps: epochs * batches, minLr: options.minLr ?? 0,
    warmupSteps: Math.max(1, Math.round((options.warmupEpochs ?? 1) * batches)),
  });
  const stopping = options.earlyStopping;
  const monitor: Monitor = stopping?.monitor ?? (data.val ? 'val_loss' : 'loss');
  check(!monitor.startsWith('val_') || data.val, `early stopping on ${monitor} needs validation data`);
  check(!stopping || (Number.isInteger(stopping.patience) && stopping.patience >= 1),
    `early-stopping patience must be a positive integer (got ${stopping?.patience})`);
  const optimizer = createOptimizer(optimizerName, { lr, momentum: options.momentum });
  const net = logitsModel(model);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const restoreBest = stopping?.restoreBest ?? true;
  // Settings a resume may change (the run continues and says so); the others must match.
  const settings: Record<string, number | string> = {
    epochs, lr, schedule: options.schedule ?? 'constant', momentum: options.momentum ?? 'default', minLr: options.minLr ?? 0,
    warmupEpochs: options.warmupEpochs ?? 1, labelSmoothing: smoothing, objective: options.objective?.name ?? 'classification',
  };
  const config = { optimizer: optimizerName, batchSize, trainSize: n, seed, settings };

  let state: TrainState = {
    epoch: 0, batch: 0, step: 0, partial: { lossSum: 0, correct: 0, seen: 0 },
    history: [], best: null, sinceBest: 0, stoppedEarly: false, config,
  };
  let best: tf.Tensor[] | null = null;
  let resumedFrom: FitResult['resumedFrom'] = null;
  const dir = options.checkpointDir;

  const result = (aborted: boolean): FitResult => ({
    history: state.history, epochs: state.history.length, stoppedEarly: state.stoppedEarly, aborted,
    bestEpoch: restoreBest && best && state.best ? state.best.epoch : null, resumedFrom,
  });

  try {
    if (dir && options.resume !== false) {
      const restored = await loadCheckpoint(dir, model, optimizer);
      if (restored) {
        const c = restored.state.config;
        if (c.optimizer !== config.optimizer || c.batchSize !== batchSize || c.trainSize !== n || c.seed !== seed) {
          tf.dispose(restored.bestWeights ?? []);
          throw new KilnError(`checkpoint ${dir} was made with optimizer ${c.optimizer}, batch size ${c.batchSize}, ` +
            `${c.trainSize} training examples, seed ${c.seed}; this run differs (delete the checkpoint to start over)`);
        }
        const at = restored.state;
        if (at.epoch > epochs || (at.epoch === epochs && at.batch > 0)) {
          tf.dispose(restored.bestWeights ?? []);
          throw new KilnError(`checkpoint ${dir} has trained ${at.epoch} epochs${at.batch ? ` and ${at.batch} batches` : ''}, ` +
            `more than the ${epochs} asked for (ask for at least ${at.epoch + (at.batch ? 1 : 0)}, or delete the checkpoint to start over)`);
        }
        const before = c.settings ?? {};
        const changes = Object.keys(settings).filter((k) => k in before && before[k] !== settings[k])
          .map((k) => `${k} ${before[k]} -> ${settings[k]}`);
        state = { ...at, config };
        best = restored.bestWeights;
        resumedFrom = { epoch: state.epoch, batch: state.batch };
        options.onResume?.({ ...resumedFrom, changes });
      }
    }

    while (!state.stoppedEarly && state.epoch < epochs) {
      const order = epochOrder(n, seed, state.epoch);
      const started = Date.now();
      let lastLr = schedule(state.step);
      // Global step of this epoch's first batch: batch b of the epoch is step first + b.
      const first = state.step - state.batch;
      const run = await trainSteps<FitBatch>({
        optimizer, variables: vars, schedule, signal: options.signal, from: state.step, to: first + batches,
        batch: (step) => {
          const dropoutRng = createRng(mixSeed(seed, 0x5eed, step));
          reseedDropout(model, () => dropoutRng.int(2 ** 31 - 1));
          const b = step - first;
          const { x, y } = batchTensors(train, order, b * batchSize, Math.min(n, (b + 1) * batchSize));
          return { x, y, prepared: options.objective?.prepare?.(net, x, y, step) ?? [] };
        },
        loss: (batch) => {
          if (options.objective) {
            const { loss, logits } = options.objective.loss(net, batch.x, batch.y, batch.prepared, smoothing);
            batch.correct = tf.keep(countCorrect(logits, batch.y));
            return loss;
          }
          const logits = net.apply(batch.x, { training: true }) as tf.Tensor;
          batch.correct = tf.keep(countCorrect(logits, batch.y));
          return classificationLoss(logits, batch.y, smoothing);
        },
        release: (batch) => tf.dispose([batch.x, batch.y, ...batch.prepared, ...(batch.correct ? [batch.correct] : [])]),
        divergence: (loss, step) =>
          `training diverged (loss ${loss}) at epoch ${state.epoch + 1}, batch ${step - first + 1}: lower the learning rate`,
        onStep: async ({ step, loss, lr, batch }) => {
          const correct = (await batch.correct!.data())[0];
          const size = batch.y.shape[0];
          state.partial.lossSum += loss * size;
          state.partial.correct += correct;
          state.partial.seen += size;
          state.step = step + 1;
          state.batch = step - first + 1;
          lastLr = lr!;
          options.onBatch?.({ epoch: state.epoch, batch: step - first, batches, step: state.step, loss, lr: lastLr });
        },
      });
      if (run.aborted) {
        if (dir) await saveCheckpoint(dir, model, optimizer, state, best);
        return result(true);
      }

      const log: EpochLog = {
        epoch: state.epoch,
        loss: state.partial.lossSum / state.partial.seen,
        accuracy: state.partial.correct / state.partial.seen,
        lr: lastLr,
        seconds: 0,
      };
      if (data.val) {
        const m = await evaluate(model, data.val);
        log.valLoss = m.loss;
        log.valAccuracy = m.accuracy;
      }
      log.seconds = (Date.now() - started) / 1000;
      state.history.push(log);
      state.epoch++;
      state.batch = 0;
      state.partial = { lossSum: 0, correct: 0, seen: 0 };

      if (stopping) {
        const value = monitorValue(log, monitor);
        const delta = stopping.minDelta ?? 0;
        const better = !state.best || (monitor.endsWith('loss')
          ? value < state.best.value - delta : value > state.best.value + delta);
        if (better) {
          state.best = { value, epoch: log.epoch };
          state.sinceBest = 0;
          if (restoreBest) {
            tf.dispose(best ?? []);
            best = model.getWeights().map((w) => w.clone());
          }
        } else if (++state.sinceBest >= stopping.patience) {
          state.stoppedEarly = true;
        }
      }
      options.onEpoch?.(log);
      const last = state.stoppedEarly || state.epoch >= epochs;
      if (dir && !last && state.epoch % (options.checkpointEvery ?? 1) === 0) {
        await saveCheckpoint(dir, model, optimizer, state, best);
      }
    }

    if (restoreBest && best) model.setWeights(best);
    if (dir) await saveCheckpoint(dir, model, optimizer, state, best);
    return result(false);
  } finally {
    optimizer.dispose();
    tf.dispose(best ?? []);
  }
}

function monitorValue(log: EpochLog, monitor: Monitor): number {
  switch (monitor) {
    case 'loss': return log.loss;
    case 'accuracy': return log.accuracy;
    case 'val_loss': return log.valLoss!;
    case 'val_accuracy': return log.valAccuracy!;
  }
}
