import { check, createRng, KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import {
  createController, loadOneShotCheckpoint, policyProbs, saveOneShotCheckpoint, type Architecture, type Controller, type CostModel,
} from '../../nas/index.js';
import { fitLatencyModel, type LatencyCostModel, type LatencyDevice, type LookupTable } from '../../nas/latency/index.js';
import { createOptimizer, createSchedule, trainSteps } from '../../train/index.js';
import { mobileDetFeatures, mobileDetPlan, type MobileDetSpace } from '../space/space.js';
import type { Category, DetectionImage } from '../types.js';
import { anchorsPerCell, DEFAULT_ANCHORS, type AnchorOptions } from './anchors.js';
import { buildDetector } from './detector.js';
import { checkSsdLoss, ssdLoss, type SsdLossOptions } from './loss.js';
import type { DetSupernet } from './supernet.js';
import { detectionBatches, disposeBatch, type DetectionBatch } from './train.js';

/**
 * TuNAS (Bender et al. 2020) over a MobileDet space, as MobileDets searches: each step the
 * REINFORCE controller proposes a child, the shared weights take one step on a training batch
 * through it, and after the warm-up (the first `warmup` of the steps, RL off, the children
 * uniform, and with `pathDropout` the supernet's op and filter warm-up decaying from 1 to 0, as
 * TuNAS) the controller is rewarded with the absolute-value reward Q + beta |T / T0 - 1|: T the
 * child's latency from a linear cost model, T0 the target, Q = exp(-loss) of the child on a
 * separate validation batch (mAP per step would cost more than the step itself). The pick is the
 * final policy's most likely child, to be trained standalone.
 */
export interface DetSearchOptions {
  supernet: DetSupernet;
  train: readonly DetectionImage[];
  val: readonly DetectionImage[];
  /** Latency of any child (ms): the reward's T. */
  latency: CostModel;
  /** Latency target T0 (ms). */
  target: number;
  /** abs reward slope (< 0); TuNAS's default is -0.1. */
  beta: number;
  controllerLr: number;
  steps: number;
  batchSize: number;
  /** Controller's validation batch (default 4x the training batch, as TuNAS). */
  valBatchSize?: number;
  /** Shared-weight Adam learning rate, cosine-decayed. */
  lr: number;
  /** Fraction of the steps with RL off while the shared weights warm up (TuNAS: 0.25). */
  warmup: number;
  /** TuNAS op and filter warm-up during the warm-up steps (default true). */
  pathDropout?: boolean;
  /** Training loss of the shared weights, also the controller's Q = exp(-loss) (default: focal). */
  loss?: SsdLossOptions;
  seed: number;
  /** Folder of the search's checkpoint (supernet, optimizer, controller, random streams); an existing one is resumed. */
  checkpointDir?: string;
  /** Steps between checkpoints (default: only at the end, or when aborted). */
  checkpointEvery?: number;
  onStep?: (e: { step: number; steps: number; loss: number; quality?: number; arch: Architecture }) => void;
  onResume?: (step: number) => void;
  signal?: AbortSignal;
}

interface SearchState {
  step: number;
  controller: unknown;
  trainRng: number;
  valRng: number;
  /** Absent in checkpoints from before the warm-up had path dropout. */
  dropRng?: number;
  losses: number[];
  /** null where JSON stored a warm-up step's NaN. */
  qualities: (number | null)[];
}

export interface DetSearchResult {
  controller: Controller;
  pick: Architecture;
  pickLatency: number;
  /** Per-decision probabilities of the final policy. */
  probs: number[][];
  losses: number[];
  /** Validation quality per step after the warm-up (NaN during it). */
  qualities: number[];
  steps: number;
  aborted: boolean;
  seconds: number;
}

export async function mobileDetSearch(o: DetSearchOptions): Promise<DetSearchResult> {
  check(o.target > 0, `the latency target must be positive (got ${o.target})`);
  check(o.beta < 0, `the abs reward needs beta < 0 (got ${o.beta})`);
  check(Number.isInteger(o.steps) && o.steps > 0, `steps must be a positive integer (got ${o.steps})`);
  check(Number.isInteger(o.batchSize) && o.batchSize > 0, `batch size must be a positive integer (got ${o.batchSize})`);
  check(o.warmup >= 0 && o.warmup < 1, `warm-up fraction must be in [0, 1) (got ${o.warmup})`);
  check(o.val.length > 0, 'the search needs validation images for the controller\'s reward');
  checkSsdLoss(o.loss);
  const net = o.supernet;
  const trainBatch = detectionBatches(net, o.train, { threshold: 0.5, flip: true });
  const valBatch = detectionBatches(net, o.val, { threshold: 0.5, flip: false });
  const options = { reward: 'abs', costMetric: o.latency.name, target: o.target, beta: o.beta, lr: o.controllerLr };
  const controller = createController('reinforce', net.space, o.seed, options, { cost: () => o.latency });
  const optimizer = createOptimizer('adam', { lr: o.lr });
  const schedule = createSchedule('cosine', { lr: o.lr, totalSteps: o.steps, warmupSteps: 1, minLr: 0 });
  const trainRng = createRng(o.seed + 1);
  const valRng = createRng(o.seed + 2);
  const dropRng = createRng(o.seed + 3);
  const warmupSteps = Math.round(o.warmup * o.steps);
  const valSize = o.valBatchSize ?? 4 * o.batchSize;
  let losses: number[] = [];
  let qualities: number[] = [];
  let from = 0;
  if (o.checkpointDir) {
    const stored = await loadOneShotCheckpoint(o.checkpointDir, net.prefix, net.variables, optimizer) as SearchState | undefined;
    if (stored) {
      if (stored.step > o.steps) throw new KilnError(`checkpoint ${o.checkpointDir} is at step ${stored.step}, past this run's ${o.steps} steps`);
      controller.restore(stored.controller);
      trainRng.restore(stored.trainRng);
      valRng.restore(stored.valRng);
      if (stored.dropRng !== undefined) dropRng.restore(stored.dropRng);
      ({ step: from, losses } = stored);
      qualities = stored.qualities.map((q) => q ?? NaN);
      o.onResume?.(from);
    }
  }
  const save = async (step: number) => {
    if (!o.checkpointDir) return;
    const state: SearchState = { step, controller: controller.state(), trainRng: trainRng.state(), valRng: valRng.state(), dropRng: dropRng.state(), losses, qualities };
    await saveOneShotCheckpoint(o.checkpointDir, net.prefix, net.variables, optimizer, state);
  };
  const t0 = performance.now();
  const pathDropout = o.pathDropout !== false;
  const result = await trainSteps<DetectionBatch & { arch: Architecture; warmupKeep: number }>({
    optimizer, from, to: o.steps, schedule, variables: net.variables, clipNorm: 10, signal: o.signal,
    // The controller proposes before the training batch is drawn: the order of the random draws.
    batch: (step) => ({
      arch: controller.ask(), warmupKeep: pathDropout && step < warmupSteps ? 1 - step / warmupSteps : 0, ...trainBatch(trainRng, o.batchSize),
    }),
    loss: (b) => ssdLoss(net.forward(b.x, b.arch, { warmupKeep: b.warmupKeep, random: dropRng.next }), b, o.loss).total,
    release: disposeBatch,
    onStep: ({ step, loss, batch: { arch } }) => {
      losses.push(loss);
      let quality: number | undefined;
      if (step >= warmupSteps) {
        const v = valBatch(valRng, valSize);
        const l = tf.tidy(() => ssdLoss(net.forward(v.x, arch), v, o.loss).total);
        quality = Math.exp(-l.dataSync()[0]);
        tf.dispose(l);
        disposeBatch(v);
        controller.tell(arch, { score: quality, feasible: true, metrics: {} });
      }
      qualities.push(quality ?? NaN);
      o.onStep?.({ step: step + 1, steps: o.steps, loss, quality, arch });
    },
    checkpoint: { every: o.checkpointEvery ?? Infinity, save },
  });
  // An abort stops between checkpoints: save where it stopped.
  if (result.aborted && result.step > from) await save(result.step);
  optimizer.dispose();
  const pick = controller.pick?.();
  if (!pick) throw new KilnError('the controller has no pick');
  const logits = (controller.state() as { logits: number[][] }).logits;
  return {
    controller, pick, pickLatency: o.latency.cost(pick), probs: policyProbs({ logits }), losses, qualities,
    steps: result.step, aborted: result.aborted, seconds: (performance.now() - t0) / 1000,
  };
}

export interface DetectorLatencyOptions {
  inputShape: [number, number, number];
  categories: readonly Category[];
  anchors?: AnchorOptions;
  /** Children measured (the all-smallest and all-largest among them). */
  samples: number;
  seed: number;
  /** Per-op entries measured before; extended in place. */
  table?: LookupTable;
  warmup?: number;
  repeats?: number;
  statistic?: 'median' | 'min';
  fitTo?: 'lookup' | 'measured';
  onProgress?: (done: number, total: number) => void;
}

/**
 * The latency cost model of SSDLite detectors over `space` on one device (a runtime at a batch
 * size): per-op lookup tables measured on the device, and a linear model on per-op features
 * (mobileDetFeatures) fitted to them, the TuNAS way (nas/latency).
 */
export function detectorLatencyModel(space: MobileDetSpace, device: LatencyDevice, o: DetectorLatencyOptions): Promise<LatencyCostModel> {
  const anchors = o.anchors ?? DEFAULT_ANCHORS;
  const categories = [...o.categories];
  const perAnchor = 4 + categories.length;
  return fitLatencyModel(space, (a) => buildDetector({ space, arch: a, inputShape: o.inputShape, categories, anchors }).model, device, {
    samples: o.samples, seed: o.seed, table: o.table, warmup: o.warmup, repeats: o.repeats, statistic: o.statistic, fitTo: o.fitTo, onProgress: o.onProgress,
    features: (a) => mobileDetFeatures(mobileDetPlan(space, a), space.layout, o.inputShape[0], anchorsPerCell(anchors), perAnchor),
  });
}
