import path from 'node:path';
import { check } from '../../core/index.js';
import { setSeed } from '../../backend/index.js';
import type { Architecture } from '../../nas/index.js';
import { measureLatency, type LatencyCostModel, type LatencyDevice, type LookupTable } from '../../nas/latency/index.js';
import type { MobileDetSpace } from '../space/space.js';
import type { Category, Detection, DetectionSplits } from '../types.js';
import type { AnchorOptions } from './anchors.js';
import type { SsdLossOptions } from './loss.js';
import { buildDetector, detect, type Detector } from './detector.js';
import { COCO_DETECTION_BUDGET } from './evaluate.js';
import { detectorLatencyModel, mobileDetSearch, type DetSearchResult } from './search.js';
import { detSupernet } from './supernet.js';
import { trainDetector, type TrainDetectorResult } from './train.js';

/**
 * The MobileDets pipeline at Kiln's scale: a latency model of the space on one device, a TuNAS
 * search under a latency target, standalone training of the pick from scratch, its measured
 * latency on the device, and its detections on the test split (scored by COCO evaluation). An
 * aborted signal stops at the next step; with `checkpointDir` the same call resumes.
 * `trainStandaloneDetector` alone serves the hand-designed baselines.
 */
export interface StandaloneDetectorOptions {
  space: MobileDetSpace;
  arch: Architecture;
  splits: DetectionSplits;
  categories: readonly Category[];
  inputShape: [number, number, number];
  anchors?: AnchorOptions;
  device: LatencyDevice;
  steps: number;
  batchSize: number;
  lr: number;
  /** Training loss (default: focal); the search's too in runMobileDet. */
  loss?: SsdLossOptions;
  seed: number;
  checkpointDir?: string;
  onStep?: (e: { step: number; steps: number; loss: number }) => void;
  signal?: AbortSignal;
}

export interface StandaloneDetector {
  detector: Detector;
  training: TrainDetectorResult;
  /** Latency of the trained model on the device (ms, minimum over repeats); NaN when the signal stopped the training. */
  measuredLatency: number;
  /** Detections on the test split (score threshold 0.01, 100 per image, the COCO protocol's budget); none when stopped. */
  detections: Detection[];
}

/** Trains architecture `arch` from scratch on the train split, measures it on the device and detects on the test split. */
export async function trainStandaloneDetector(o: StandaloneDetectorOptions): Promise<StandaloneDetector> {
  setSeed(o.seed);
  const detector = buildDetector({ space: o.space, arch: o.arch, inputShape: o.inputShape, categories: [...o.categories], anchors: o.anchors });
  const training = await trainDetector(detector, o.splits.train, {
    steps: o.steps, batchSize: o.batchSize, lr: o.lr, loss: o.loss, seed: o.seed, checkpointDir: o.checkpointDir, onStep: o.onStep, signal: o.signal,
  });
  if (training.aborted) return { detector, training, measuredLatency: NaN, detections: [] };
  const measuredLatency = await measureLatency(detector.model, o.device.runtime, { batch: o.device.batch, warmup: 3, repeats: 20, statistic: 'min' });
  const detections = await detect(detector, o.splits.test, COCO_DETECTION_BUDGET);
  return { detector, training, measuredLatency, detections };
}

export interface MobileDetRunOptions extends Omit<StandaloneDetectorOptions, 'arch' | 'steps' | 'batchSize' | 'lr' | 'onStep' | 'checkpointDir'> {
  /** Checkpoints of the search (DIR/search) and of the pick's training (DIR/train); existing ones are resumed. */
  checkpointDir?: string;
  /** Latency target T0 on the device (ms). */
  target: number;
  latencySamples: number;
  /**
   * Fit the linear latency model to whole-model measurements (default) or to per-op lookup sums:
   * measured children predict held-out ones better on both runtimes (BENCHMARKS.md, MobileDets).
   */
  latencyFitTo?: 'measured' | 'lookup';
  /** Per-op latencies measured before (extended in place, so a caller can save it). */
  latencyTable?: LookupTable;
  /** A latency model of this space and device fitted before (several searches share one); skips the measuring. */
  latencyModel?: LatencyCostModel;
  search: { steps: number; batchSize: number; lr: number; warmup: number; beta: number; controllerLr: number };
  train: { steps: number; batchSize: number; lr: number };
  onLatency?: (done: number, total: number) => void;
  onSearchStep?: (e: { step: number; steps: number; loss: number; quality?: number }) => void;
  onTrainStep?: (e: { step: number; steps: number; loss: number }) => void;
}

export interface MobileDetRun {
  latency: LatencyCostModel;
  search: DetSearchResult;
  /** The latency model's prediction for the pick (ms). */
  predictedLatency: number;
  /** True when the signal stopped the search or the training; the same call resumes from the checkpoints. */
  stopped: boolean;
  /** The pick trained standalone, measured and run on the test split; absent when stopped. */
  standalone?: StandaloneDetector;
}

export async function runMobileDet(o: MobileDetRunOptions): Promise<MobileDetRun> {
  check(o.splits.val.length > 0 && o.splits.test.length > 0, 'the MobileDets pipeline needs validation and test images');
  const latency = o.latencyModel ?? await detectorLatencyModel(o.space, o.device, {
    inputShape: o.inputShape, categories: o.categories, anchors: o.anchors, samples: o.latencySamples, seed: o.seed, table: o.latencyTable,
    statistic: 'min', fitTo: o.latencyFitTo ?? 'measured', onProgress: o.onLatency,
  });
  setSeed(o.seed);
  const net = detSupernet({ space: o.space, inputShape: o.inputShape, categories: o.categories, anchors: o.anchors });
  let search: DetSearchResult;
  try {
    search = await mobileDetSearch({
      supernet: net, train: o.splits.train, val: o.splits.val, latency: latency.cost, target: o.target, seed: o.seed, signal: o.signal, loss: o.loss, ...o.search,
      checkpointDir: o.checkpointDir && path.join(o.checkpointDir, 'search'),
      onStep: o.onSearchStep,
    });
  } finally {
    net.dispose();
  }
  const run = { latency, search, predictedLatency: search.pickLatency };
  if (search.aborted) return { ...run, stopped: true };
  const standalone = await trainStandaloneDetector({
    ...o, arch: search.pick, ...o.train, onStep: o.onTrainStep, checkpointDir: o.checkpointDir && path.join(o.checkpointDir, 'train'),
  });
  if (standalone.training.aborted) {
    standalone.detector.model.dispose();
    return { ...run, stopped: true };
  }
  return { ...run, stopped: false, standalone };
}
