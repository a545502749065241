import { check, createRng, KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import type { Dataset } from '../../data/index.js';
import { createOptimizer, createSchedule, trainSteps } from '../../train/index.js';
import type { Controller, ControllerOptions } from '../controllers/index.js';
import type { CostModel } from '../cost/index.js';
import type { Evaluator, TrialMetrics } from '../evaluators.js';
import type { Architecture } from '../space/index.js';
import { memoryStorage, type Storage } from '../storage/index.js';
import { openStudy, type Study } from '../study.js';
import { loadOneShotCheckpoint, saveOneShotCheckpoint } from './checkpoint.js';
import { supernetCosts, type Supernet } from './supernet.js';
import { batchStream, childQuality, supernetLoss, type BatchStream, type Quality } from './training.js';

/** The study a one-shot RL search is stored as (space, objective and evaluator are the loop's own). */
export interface RlStudy {
  name: string;
  /** The controller's registry name and options, as the study records them. */
  controller: string;
  controllerOptions?: ControllerOptions;
  /** Hard constraints (rejection sampling); none for reward-shaped searches. */
  constraints?: string[];
}

/**
 * The one-shot RL loop shared by TabNAS and TuNAS. Each step the controller proposes a child;
 * the shared weights take one step on a training batch through that child; after the warm-up
 * the controller is told the child's quality on a separate validation batch. During warm-up the
 * controller is not told anything (its policy stays uniform), and with `pathDropout` the
 * supernet runs extra ops / the widest filters with a probability that decays from 1 to 0
 * over the warm-up (TuNAS op and filter warm-up).
 *
 * The loop runs as a study: every step is a trial, stored when the step ends. The controller is
 * the study's sampler and the supernet its evaluator (inherited weights on the validation
 * batch, objective 'quality'); warm-up trials hold the costs and the training loss only. A
 * resumed search continues from its supernet checkpoint and marks the trials after it failed,
 * so the study holds each step once, as an uninterrupted run would.
 */
/** The training settings every RL one-shot search (TuNAS, TabNAS) takes. */
export interface RlTrainingSettings {
  steps: number;
  batchSize: number;
  /** Fraction of steps with RL off while the shared weights warm up (TuNAS: 0.25). */
  warmup: number;
  /** Shared-weight Adam learning rate, cosine-decayed over the search. */
  lr: number;
  quality: Quality;
  seed: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  onStep?: (e: StepEvent) => void;
  signal?: AbortSignal;
}

export interface RlSearchOptions extends RlTrainingSettings {
  supernet: Supernet;
  train: Dataset;
  val: Dataset;
  controller: Controller;
  study: RlStudy;
  /** Where the study lives (default: in memory). */
  storage?: Storage;
  /** Costs besides the supernet's own (a latency model), recorded with every trial. */
  costs?: readonly CostModel[];
  /** Controller's validation batch (TuNAS: 4x the training batch). */
  valBatchSize: number;
  pathDropout?: boolean;
}

export interface StepEvent {
  step: number;
  steps: number;
  loss: number;
  /** Controller reward input (quality on the validation batch), after the warm-up. */
  quality?: number;
  arch: Architecture;
}

export interface RlSearchResult {
  /** Total steps done (including those before a resume). */
  steps: number;
  /** Per-step training loss and (after warm-up) validation quality; NaN where absent. */
  losses: number[];
  qualities: number[];
  /** Wall-clock seconds of this process's steps, and their rate. */
  seconds: number;
  stepsPerSecond: number;
  resumedFrom: number | null;
  aborted: boolean;
  /** The study holding one trial per step. */
  study: Study;
}

/** The supernet scoring a child with its inherited weights on the next validation batch (BN on batch statistics). */
export function batchQualityEvaluator(net: Supernet, val: BatchStream, batchSize: number, quality: Quality): Evaluator {
  return {
    name: 'inherited-weights',
    metrics: ['quality'],
    async evaluate(a) {
      const v = val.next(batchSize);
      const q = childQuality(net, a, v.x, v.y, quality, { training: true });
      tf.dispose([v.x, v.y]);
      return { quality: q };
    },
  };
}

interface LoopState {
  step: number;
  controller: unknown;
  trainStream: ReturnType<ReturnType<typeof batchStream>['state']>;
  valStream: ReturnType<ReturnType<typeof batchStream>['state']>;
  dropRng: number;
  losses: number[];
  qualities: number[];
}

export async function rlSearch(o: RlSearchOptions): Promise<RlSearchResult> {
  check(Number.isInteger(o.steps) && o.steps >= 1, `steps must be a positive integer (got ${o.steps})`);
  check(o.warmup >= 0 && o.warmup < 1, `warm-up fraction must be in [0, 1) (got ${o.warmup})`);
  const net = o.supernet;
  const optimizer = createOptimizer('adam', { lr: o.lr });
  const schedule = createSchedule('cosine', { lr: o.lr, totalSteps: o.steps, warmupSteps: 1, minLr: 0 });
  const trainStream = batchStream(o.train, o.seed);
  const valStream = batchStream(o.val, o.seed + 1);
  const dropRng = createRng(o.seed + 2);
  const warmupSteps = Math.round(o.warmup * o.steps);
  const costs = [...supernetCosts(net), ...(o.costs ?? [])];
  const evaluator = batchQualityEvaluator(net, valStream, o.valBatchSize, o.quality);
  const study = openStudy({
    study: {
      name: o.study.name, space: net.space.name, objective: 'quality', direction: 'max', constraints: o.study.constraints ?? [],
      controller: o.study.controller, controllerOptions: o.study.controllerOptions, evaluator: evaluator.name, seed: o.seed,
    },
    storage: o.storage ?? memoryStorage(), space: net.space, controller: o.controller, evaluator, costs, restoreController: false,
  });
  let state: LoopState = { step: 0, controller: null, trainStream: trainStream.state(), valStream: valStream.state(), dropRng: dropRng.state(), losses: [], qualities: [] };
  let resumedFrom: number | null = null;
  if (o.checkpointDir) {
    const stored = await loadOneShotCheckpoint(o.checkpointDir, net.prefix, net.variables, optimizer) as LoopState | undefined;
    if (stored) {
      if (stored.step > o.steps) throw new KilnError(`checkpoint ${o.checkpointDir} is at step ${stored.step}, past this run's ${o.steps} steps`);
      // JSON turned the warm-up's NaN qualities into null.
      state = { ...stored, qualities: stored.qualities.map((q) => q ?? NaN) };
      o.controller.restore(state.controller);
      trainStream.restore(state.trainStream);
      valStream.restore(state.valStream);
      dropRng.restore(state.dropRng);
      resumedFrom = state.step;
    }
  }
  study.rewind(state.step, `discarded: the search resumed from its supernet checkpoint at step ${state.step}, which redoes this step`);
  const save = async () => {
    if (!o.checkpointDir) return;
    state.controller = o.controller.state();
    state.trainStream = trainStream.state();
    state.valStream = valStream.state();
    state.dropRng = dropRng.state();
    await saveOneShotCheckpoint(o.checkpointDir, net.prefix, net.variables, optimizer, state);
  };

  const started = performance.now();
  const firstStep = state.step;
  const { aborted } = await trainSteps({
    optimizer, from: state.step, to: o.steps, schedule, variables: net.variables, signal: o.signal,
    // The controller proposes before the training batch is drawn: the order of the random draws.
    batch: (step) => ({
      trial: study.ask(),
      warmupKeep: o.pathDropout && step < warmupSteps ? 1 - step / warmupSteps : 0,
      ...trainStream.next(o.batchSize),
    }),
    loss: ({ trial, warmupKeep, x, y }) => supernetLoss(net, trial.arch, x, y, { warmupKeep, random: dropRng.next }),
    release: ({ x, y }) => tf.dispose([x, y]),
    divergence: (loss, step, { trial }) => {
      const message = `supernet training diverged (loss ${loss}) at step ${step + 1}: lower --lr`;
      study.fail(trial, message);
      return message;
    },
    // The controller's update: after the warm-up it is told the child's quality on a validation batch.
    onStep: async ({ step, loss, batch: { trial } }) => {
      const arch = trial.arch;
      const learn = step >= warmupSteps;
      const metrics: TrialMetrics = { step: step + 1, train_loss: loss, ...Object.fromEntries(costs.map((m) => [m.name, m.cost(arch)])) };
      const quality = learn ? (await evaluator.evaluate(arch)).quality : undefined;
      study.tell(trial, quality === undefined ? metrics : { ...metrics, quality }, { learn });
      state.losses.push(loss);
      state.qualities.push(quality ?? NaN);
      state.step = step + 1;
      o.onStep?.({ step: state.step, steps: o.steps, loss, quality, arch });
    },
    // Without checkpointEvery, only the last step saves.
    checkpoint: { every: o.checkpointEvery || Infinity, save },
  });
  // An abort stops between checkpoints: save where it stopped.
  if (aborted) await save();
  const seconds = (performance.now() - started) / 1000;
  optimizer.dispose();
  return {
    steps: state.step, losses: state.losses, qualities: state.qualities, seconds,
    stepsPerSecond: (state.step - firstStep) / Math.max(seconds, 1e-9), resumedFrom, aborted, study,
  };
}
