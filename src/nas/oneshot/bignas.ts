import { check, createRng, KilnError, type Rng } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import type { Dataset, Splits } from '../../data/index.js';
import { classificationLoss, createOptimizer, createSchedule, evaluate, trainSteps } from '../../train/index.js';
import type { Evaluator } from '../evaluators.js';
import type { Architecture } from '../space/index.js';
import { memoryStorage, type Storage, type Trial } from '../storage/index.js';
import { openStudy } from '../study.js';
import { recalibrateBatchNorm } from './batchnorm.js';
import { loadOneShotCheckpoint, saveOneShotCheckpoint } from './checkpoint.js';
import { BACKBONE, bignasSpace, type Backbone } from './conv-space.js';
import { convSupernet, type ConvSupernet } from './conv-supernet.js';
import { supernetCosts } from './supernet.js';
import { batchStream } from './training.js';
import { inputSide, splitsAtResolution } from './resize.js';

/**
 * BigNAS: train the elastic supernet once with the sandwich rule (each step: the largest child on
 * the labels, plus the smallest and `randomChildren` random children distilled in place from the
 * largest child's soft predictions; all gradients summed into one update), weight decay on the
 * largest child only; then pick children for any cost limit with no retraining: BN recalibration
 * per child, coarse-to-fine selection.
 */

export function bignasSupernet(inputShape: number[], classes: number, backbone: Backbone = BACKBONE, resolutions?: number[]): ConvSupernet {
  const side = inputShape[0];
  const res = resolutions ?? [Math.round(side * 0.72), Math.round(side * 0.86), side].map((r) => r - (r % 2));
  return convSupernet({ space: bignasSpace(backbone, res), backbone, inputShape, classes, kernels: 'nested', maxExpansion: 4, zeroInitResidualGamma: true });
}

export const largestChild = (net: ConvSupernet): Architecture => ({ values: net.space.decisions.map((d) => d.choices.length - 1) });
export const smallestChild = (net: ConvSupernet): Architecture => ({ values: net.space.decisions.map(() => 0) });

export interface BignasTrainOptions {
  supernet: ConvSupernet;
  train: Dataset;
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  randomChildren: number;
  seed: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  onStep?: (e: { step: number; steps: number; loss: number }) => void;
  signal?: AbortSignal;
}

export interface BignasTrainResult {
  steps: number;
  losses: number[];
  seconds: number;
  stepsPerSecond: number;
  resumedFrom: number | null;
}

/** Identity forward, zero gradient: the teacher's predictions are targets, not trained through. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** Soft cross-entropy of `logits` against a fixed teacher distribution. */
function distillLoss(logits: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(teacher, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

export async function bignasTrain(o: BignasTrainOptions): Promise<BignasTrainResult> {
  check(Number.isInteger(o.steps) && o.steps >= 1, `steps must be a positive integer (got ${o.steps})`);
  const net = o.supernet;
  const optimizer = createOptimizer('adam', { lr: o.lr });
  const schedule = createSchedule('warmup-cosine', { lr: o.lr, totalSteps: o.steps, warmupSteps: Math.max(1, Math.round(o.steps * 0.05)), minLr: 0 });
  const stream = batchStream(o.train, o.seed);
  const rng: Rng = createRng(o.seed + 7);
  let step = 0;
  let losses: number[] = [];
  let resumedFrom: number | null = null;
  if (o.checkpointDir) {
    const s = await loadOneShotCheckpoint(o.checkpointDir, net.prefix, net.variables, optimizer) as
      { step: number; stream: ReturnType<typeof stream.state>; rng: number; losses: number[] } | undefined;
    if (s) {
      if (s.step > o.steps) throw new KilnError(`checkpoint ${o.checkpointDir} is at step ${s.step}, past this run's ${o.steps} steps`);
      ({ step, losses } = s);
      stream.restore(s.stream);
      rng.restore(s.rng);
      resumedFrom = step;
    }
  }
  const save = async () => {
    if (o.checkpointDir) await saveOneShotCheckpoint(o.checkpointDir, net.prefix, net.variables, optimizer, { step, stream: stream.state(), rng: rng.state(), losses });
  };
  const largest = largestChild(net);
  const smallest = smallestChild(net);
  const started = performance.now();
  const first = step;
  const r = await trainSteps({
    optimizer, from: step, to: o.steps, schedule, variables: net.variables, signal: o.signal,
    // The children come from the rng before the batch from the stream: the order of the random draws.
    batch: () => ({ others: [smallest, ...Array.from({ length: o.randomChildren }, () => net.space.sample(rng))], ...stream.next(o.batchSize) }),
    loss: ({ x, y, others }) => {
      const big = net.logits(x, largest, { training: true });
      const decay = net.kernelsForDecay.reduce((s: tf.Scalar, k) => tf.add(s, tf.sum(tf.square(k))) as tf.Scalar, tf.scalar(0));
      let total = tf.add(classificationLoss(big, y), tf.mul(o.weightDecay, decay)) as tf.Scalar;
      const teacher = stopGradient(tf.softmax(big));
      for (const a of others) total = tf.add(total, distillLoss(net.logits(x, a, { training: true }), teacher)) as tf.Scalar;
      return total;
    },
    release: ({ x, y }) => tf.dispose([x, y]),
    divergence: (loss, at) => `BigNAS training diverged (loss ${loss}) at step ${at + 1}: lower --lr`,
    onStep: (e) => {
      losses.push(e.loss);
      step = e.step + 1;
      o.onStep?.({ step, steps: o.steps, loss: e.loss });
    },
    // Without checkpointEvery, only the last step saves.
    checkpoint: { every: o.checkpointEvery || Infinity, save },
  });
  // An abort stops between checkpoints: save where it stopped.
  if (r.aborted) await save();
  optimizer.dispose();
  const seconds = (performance.now() - started) / 1000;
  return { steps: step, losses, seconds, stepsPerSecond: (step - first) / Math.max(seconds, 1e-9), resumedFrom };
}

/** A child as a standalone model with inherited weights and recalibrated BN, scored on `ds`. */
export async function inheritedChild(net: ConvSupernet, a: Architecture, calibration: Dataset, batches = 8): Promise<tf.LayersModel> {
  const model = net.child(a);
  recalibrateBatchNorm(model, calibration, batches);
  return model;
}

/**
 * The trained supernet scoring a child with its inherited weights: the child as a standalone
 * model, BN recalibrated on the training data, accuracy on the whole validation split at the
 * child's own resolution.
 */
export function inheritedEvaluator(net: ConvSupernet, splits: Splits): Evaluator {
  return {
    name: 'inherited-weights',
    metrics: ['val_accuracy'],
    async evaluate(a) {
      const model = await inheritedChild(net, a, splits.train);
      const accuracy = (await evaluate(model, splitsAtResolution(splits, inputSide(model)).val)).accuracy;
      model.dispose();
      return { val_accuracy: accuracy };
    },
  };
}

export interface SelectOptions {
  coarse: number;
  fine: number;
  seed: number;
  /** Where the selection's study lives (default: in memory), and its name (default bignas-METRICLIMIT-seedSEED). */
  storage?: Storage;
  study?: string;
  /** Called after each scored child. */
  onTrial?: (trial: Trial) => void;
  /** Aborting stops after the current child; re-running resumes the selection. */
  signal?: AbortSignal;
}

export interface ChildSelection {
  arch: Architecture;
  valAccuracy: number;
  cost: number;
  /** Children scored: coarse samples, then fine mutations. */
  evaluated: number;
  /** True when the signal stopped the selection early (the pick is the best so far). */
  stopped: boolean;
}

/**
 * Coarse-to-fine selection under `metric <= limit` as a study: the coarse-to-fine controller
 * proposes (the smallest child, `coarse` random feasible children, then `fine` one-decision
 * mutations of the best), the inherited-weights evaluator scores, and every scored child is a
 * trial stored as it finishes; an interrupted selection resumes where it stopped.
 */
export async function selectChild(net: ConvSupernet, splits: Splits, metric: string, limit: number, opts: SelectOptions): Promise<ChildSelection> {
  const cost = (a: Architecture) => net.costs(a)[metric];
  if (cost(smallestChild(net)) > limit) throw new KilnError(`no child meets ${metric}<=${limit} (the smallest has ${cost(smallestChild(net)).toFixed(3)})`);
  const study = openStudy({
    study: {
      name: opts.study ?? `bignas-${metric}${limit}-seed${opts.seed}`, space: net.space.name, objective: 'val_accuracy', direction: 'max',
      constraints: [`${metric}<=${limit}`], controller: 'coarse-to-fine', controllerOptions: { coarse: opts.coarse, fine: opts.fine, costMetric: metric },
      evaluator: 'inherited-weights', seed: opts.seed,
    },
    storage: opts.storage ?? memoryStorage(), space: net.space, evaluator: inheritedEvaluator(net, splits), costs: supernetCosts(net),
  });
  const run = await study.run({ budget: 1 + opts.coarse + opts.fine, signal: opts.signal, onTrial: (t) => opts.onTrial?.(t) });
  const arch = study.controller.pick?.();
  if (!arch) throw new KilnError(`selection under ${metric}<=${limit} stopped before it scored a child`);
  const key = net.space.toString(arch);
  const scored = run.trials.filter((t) => t.state === 'complete');
  return { arch, valAccuracy: scored.find((t) => t.arch === key)!.value!, cost: cost(arch), evaluated: scored.length, stopped: run.stopped };
}
