import { check, KilnError, type Rng } from '../../core/index.js';
import type { tf } from '../../backend/index.js';
import { numExamples, type Splits } from '../../data/index.js';
import { createController, policyProbs, type Controller } from '../controllers/index.js';
import type { CostModel } from '../cost/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import type { Storage } from '../storage/index.js';
import { SMALL_BACKBONE, tunasSpace, type Backbone } from './conv-space.js';
import { convSupernet, type ConvSupernet } from './conv-supernet.js';
import { rlSearch, type RlSearchResult, type RlTrainingSettings } from './rl-search.js';
import { trainForSteps } from './standalone.js';
import { runStandaloneJobs, type StandaloneJobResult } from './parallel.js';

/**
 * TuNAS (Bender et al. 2020) on small images: abs-reward REINFORCE over the MobileNet-like
 * supernet under a latency target. Shared weights warm up alone for the first `warmup` of the
 * steps with op and filter path dropout decaying from 1 to 0; after that each step trains the
 * sampled child on a training batch and rewards the controller with Q + beta*|T/T0 - 1|, where
 * Q is the child's accuracy on a separate validation batch (4x the training batch) and T its
 * latency from a linear cost model.
 */

/** The TuNAS supernet: one depthwise kernel per kernel size (separate op weights), filters shared by masking. */
export function tunasSupernet(inputShape: number[], classes: number, backbone: Backbone = SMALL_BACKBONE): ConvSupernet {
  return convSupernet({ space: tunasSpace(backbone), backbone, inputShape, classes, kernels: 'separate', maxExpansion: backbone.maxExpansion });
}

export interface TunasOptions extends RlTrainingSettings {
  splits: Splits;
  backbone?: Backbone;
  /** Latency of any child (ms); the reward's T. */
  latency: CostModel;
  /** Latency target T0 (ms). */
  target: number;
  /** abs reward slope (< 0); TuNAS default -0.1. */
  beta: number;
  /** Controller Adam learning rate. */
  controllerLr: number;
  /** Where the study of the search's steps lives (default: in memory), and its name (default tunas-seedSEED-stepsSTEPS). */
  storage?: Storage;
  studyName?: string;
}

export interface TunasResult {
  space: SearchSpace;
  supernet: ConvSupernet;
  controller: Controller;
  search: RlSearchResult;
  /** The final policy's most likely child, and its predicted latency. */
  pick: Architecture;
  pickLatency: number;
  /** Per-decision probabilities of the final policy. */
  probs: number[][];
}

export async function tunasSearch(o: TunasOptions): Promise<TunasResult> {
  check(o.target > 0, `the latency target must be positive (got ${o.target})`);
  check(o.beta < 0, `the abs reward needs beta < 0 (got ${o.beta})`);
  check(o.splits.train.shape.length === 3, `TuNAS searches an image space; '${o.splits.train.name}' is not images`);
  check(numExamples(o.splits.val) > 0, `TuNAS needs a validation split for the controller's reward`);
  const supernet = tunasSupernet(o.splits.train.shape, o.splits.train.classNames.length, o.backbone);
  const space = supernet.space;
  const options = { reward: 'abs', costMetric: o.latency.name, target: o.target, beta: o.beta, lr: o.controllerLr };
  const controller = createController('reinforce', space, o.seed, options, { cost: () => o.latency });
  const search = await rlSearch({
    supernet, train: o.splits.train, val: o.splits.val, controller, costs: [o.latency], storage: o.storage,
    study: { name: o.studyName ?? `tunas-seed${o.seed}-steps${o.steps}`, controller: 'reinforce', controllerOptions: options }, steps: o.steps, batchSize: o.batchSize,
    valBatchSize: Math.min(numExamples(o.splits.val), 4 * o.batchSize), warmup: o.warmup, pathDropout: true, lr: o.lr,
    quality: o.quality, seed: o.seed, checkpointDir: o.checkpointDir, checkpointEvery: o.checkpointEvery, onStep: o.onStep, signal: o.signal,
  });
  const logits = (controller.state() as { logits: number[][] }).logits;
  const pick = controller.pick?.();
  if (!pick) throw new KilnError('the TuNAS controller has no pick');
  return { space, supernet, controller, search, pick, pickLatency: o.latency.cost(pick), probs: policyProbs({ logits }) };
}

/**
 * `count` distinct random children whose latency is within `tolerance` (relative) of `target`:
 * the random-search baseline at the same latency target. Falls back to the closest of the
 * draws when too few land in the band.
 */
export function childrenNearTarget(space: SearchSpace, latency: CostModel, target: number, tolerance: number, count: number, rng: Rng, draws = 20_000): Architecture[] {
  const seen = new Map<string, { a: Architecture; gap: number }>();
  let inside = 0;
  for (let i = 0; i < draws && inside < count; i++) {
    const a = space.sample(rng);
    const key = space.key(a);
    if (seen.has(key)) continue;
    const gap = Math.abs(latency.cost(a) / target - 1);
    seen.set(key, { a, gap });
    if (gap <= tolerance) inside++;
  }
  const all = [...seen.values()];
  const inBand = all.filter((s) => s.gap <= tolerance);
  const chosen = inBand.length >= count ? inBand.slice(0, count) : all.sort((p, q) => p.gap - q.gap).slice(0, count);
  return chosen.map((s) => s.a);
}

/** Child `a` as a standalone model with fresh (He-normal, seeded by setSeed) weights, for training from scratch. */
export function freshTunasChild(a: Architecture, inputShape: number[], classes: number, backbone: Backbone = SMALL_BACKBONE): tf.LayersModel {
  const net = tunasSupernet(inputShape, classes, backbone);
  try {
    return net.child(a);
  } finally {
    net.dispose();
  }
}

export interface RandomBaselineOptions {
  splits: Splits;
  backbone?: Backbone;
  latency: CostModel;
  target: number;
  /** Relative latency band around the target that random children are drawn from. */
  tolerance: number;
  count: number;
  /** Training steps of each random child: the compared search's total steps / count. */
  stepsEach: number;
  batchSize: number;
  lr: number;
  seed: number;
  rng: Rng;
  /**
   * Train the children in worker threads instead (both cores): where the workers load the same
   * splits from (dataset name, subsample, split seed) and the backbone's BACKBONES name.
   */
  parallel?: { workers: number; data: string; subsample?: number; splitSeed: number; backbone: string };
  onTrained?: (t: BaselineTrial) => void;
}

export interface BaselineTrial {
  arch: Architecture;
  latency: number;
  valAccuracy: number;
  testAccuracy: number;
  seconds: number;
}

/**
 * Random search at the latency target with a fixed training budget: `count` random children
 * near the target, each trained standalone for `stepsEach` steps; the best on validation wins.
 */
export async function randomSearchBaseline(o: RandomBaselineOptions): Promise<{ trials: BaselineTrial[]; best: BaselineTrial }> {
  const { shape, classNames } = o.splits.train;
  const space = tunasSpace(o.backbone ?? SMALL_BACKBONE);
  const archs = childrenNearTarget(space, o.latency, o.target, o.tolerance, o.count, o.rng);
  const seedOf = (i: number) => o.seed * 1000 + i;
  const trials: BaselineTrial[] = [];
  if (o.parallel) {
    const { workers, ...where } = o.parallel;
    const jobs = archs.map((a, i) => ({ ...where, arch: space.toString(a), steps: o.stepsEach, batchSize: o.batchSize, lr: o.lr, seed: seedOf(i) }));
    const trialOf = (r: StandaloneJobResult, i: number): BaselineTrial =>
      ({ arch: archs[i], latency: o.latency.cost(archs[i]), valAccuracy: r.valAccuracy, testAccuracy: r.testAccuracy, seconds: r.seconds });
    const done = await runStandaloneJobs(jobs, workers, (r, i) => o.onTrained?.(trialOf(r, i)));
    trials.push(...done.map(trialOf));
    return { trials, best: trials.reduce((p, q) => (q.valAccuracy > p.valAccuracy ? q : p)) };
  }
  for (const [i, arch] of archs.entries()) {
    const r = await trainForSteps(() => freshTunasChild(arch, shape, classNames.length, o.backbone), o.splits,
      { steps: o.stepsEach, batchSize: o.batchSize, lr: o.lr, seed: seedOf(i) });
    r.model.dispose();
    const t = { arch, latency: o.latency.cost(arch), valAccuracy: r.valAccuracy, testAccuracy: r.testAccuracy, seconds: r.seconds };
    trials.push(t);
    o.onTrained?.(t);
  }
  const best = trials.reduce((p, q) => (q.valAccuracy > p.valAccuracy ? q : p));
  return { trials, best };
}
