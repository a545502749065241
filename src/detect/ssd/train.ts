import { check, createRng, KilnError, type Rng } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import { createOptimizer, createSchedule, hasCheckpoint, loadCheckpoint, saveCheckpoint, trainSteps, type TrainState } from '../../train/index.js';
import type { Category, DetectionImage } from '../types.js';
import { normalizedCorners } from './boxes.js';
import { checkImageInputs, inputBatch, type Detector } from './detector.js';
import { checkSsdLoss, classLossName, DEFAULT_CLASS_LOSS, ssdLoss, type SsdLossOptions, type SsdTargets } from './loss.js';
import { anchorTargets, type AnchorTargets } from './match.js';

/**
 * Training an SSDLite detector: each step draws a batch (with replacement, from a generator seeded
 * by the run's seed and the step, so a resumed run draws the same batches), mirrors each image with
 * probability 1/2, and takes one optimizer step on the smooth-L1 + classification loss (focal by
 * default, or hard negative mining; see loss.ts). Anchor targets are
 * computed once per image and mirror. Checkpoints use Kiln's crash-safe checkpoint folders.
 */
export interface TrainDetectorOptions {
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Registered optimizer (default adam). */
  optimizer?: string;
  /** Registered schedule (default warmup-cosine, with warmupSteps). */
  schedule?: string;
  warmupSteps?: number;
  /** Random horizontal mirroring (default true). */
  flip?: boolean;
  /** IoU at which an anchor matches a box (default 0.5). */
  matchThreshold?: number;
  /** The classification loss and its settings (default: focal, alpha 0.25, gamma 2). */
  loss?: SsdLossOptions;
  /** Rescale gradients to this global norm at most (default 10). */
  clipNorm?: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Continue from a checkpoint in checkpointDir (default true). */
  resume?: boolean;
  onStep?: (e: { step: number; steps: number; loss: number; lr: number | undefined }) => void;
  onResume?: (step: number) => void;
  signal?: AbortSignal;
}

export interface TrainDetectorResult {
  /** Steps done in total, including those before a resume. */
  steps: number;
  aborted: boolean;
  /** Loss of each step this call took. */
  losses: number[];
  seconds: number;
}

interface ImageTargets {
  plain: AnchorTargets;
  mirrored: AnchorTargets;
}

/** What training batches are made for: the anchors, categories and input size of a detector (or a supernet of them). */
export interface DetectorFrame {
  anchors: Float32Array;
  categories: readonly Category[];
  inputShape: readonly number[];
}

/** Checks every image and box before training starts; returns the class index of each category id. */
function checkTrainingImages(f: DetectorFrame, images: readonly DetectionImage[]): Map<number, number> {
  check(images.length > 0, 'no training images');
  checkImageInputs(images);
  const index = new Map(f.categories.map((c, i) => [c.id, i]));
  for (const im of images) {
    check(im.boxes.length === im.categoryIds.length, `image ${im.id} has ${im.boxes.length} boxes but ${im.categoryIds.length} category ids`);
    im.boxes.forEach(([x, y, w, h], j) => {
      check([x, y, w, h].every(Number.isFinite) && w > 0 && h > 0, `image ${im.id}: box ${j} [${x}, ${y}, ${w}, ${h}] is not a box with positive size`);
      check(index.has(im.categoryIds[j]), `image ${im.id}: category id ${im.categoryIds[j]} is not one of the detector's (${[...index.keys()].join(', ')})`);
    });
  }
  return index;
}

function targetsOf(anchors: Float32Array, im: DetectionImage, classOf: Map<number, number>, threshold: number): ImageTargets {
  const labels = im.categoryIds.map((id) => classOf.get(id)!);
  const gt = normalizedCorners(im.boxes, im.width, im.height);
  const mirror = new Float32Array(gt.length);
  for (let i = 0; i < gt.length; i += 4) mirror.set([1 - gt[i + 2], gt[i + 1], 1 - gt[i], gt[i + 3]], i);
  return { plain: anchorTargets(anchors, gt, labels, threshold), mirrored: anchorTargets(anchors, mirror, labels, threshold) };
}

/** A training batch: images and the anchor targets of the loss. */
export interface DetectionBatch extends SsdTargets {
  x: tf.Tensor4D;
}

export function disposeBatch(b: DetectionBatch): void {
  tf.dispose([b.x, b.boxes, b.classes, b.positive]);
}

/**
 * Checks `images` against the frame and returns a batch maker: `size` images drawn with
 * replacement by `rng`, each mirrored with probability 1/2 when `flip`. Anchor targets are
 * computed once per image and mirror.
 */
export function detectionBatches(f: DetectorFrame, images: readonly DetectionImage[], o: { threshold: number; flip: boolean }): (rng: Rng, size: number) => DetectionBatch {
  check(o.threshold > 0 && o.threshold <= 1, `match threshold must be in (0, 1] (got ${o.threshold})`);
  const classOf = checkTrainingImages(f, images);
  const targets = images.map((im) => targetsOf(f.anchors, im, classOf, o.threshold));
  const n = f.anchors.length / 4;
  const classes = f.categories.length;
  return (rng, size) => {
    const pick = Array.from({ length: size }, () => rng.int(images.length));
    const flip = pick.map(() => o.flip && rng.next() < 0.5);
    const boxes = new Float32Array(size * n * 4);
    const onehot = new Float32Array(size * n * classes);
    const positive = new Float32Array(size * n);
    pick.forEach((i, b) => {
      const t = flip[b] ? targets[i].mirrored : targets[i].plain;
      boxes.set(t.boxes, b * n * 4);
      for (let a = 0; a < n; a++) {
        if (t.classes[a] < 0) continue;
        positive[b * n + a] = 1;
        onehot[(b * n + a) * classes + t.classes[a]] = 1;
      }
    });
    return {
      x: inputBatch(pick.map((i) => images[i]), f.inputShape, flip),
      boxes: tf.tensor3d(boxes, [size, n, 4]),
      classes: tf.tensor3d(onehot, [size, n, classes]),
      positive: tf.tensor2d(positive, [size, n]),
    };
  };
}

/** The frame of a built detector. */
export const frameOf = (d: Detector): DetectorFrame => ({ anchors: d.anchors, categories: d.config.categories, inputShape: d.config.inputShape });

export async function trainDetector(d: Detector, images: readonly DetectionImage[], o: TrainDetectorOptions): Promise<TrainDetectorResult> {
  check(Number.isInteger(o.steps) && o.steps > 0, `steps must be a positive integer (got ${o.steps})`);
  check(Number.isInteger(o.batchSize) && o.batchSize > 0, `batch size must be a positive integer (got ${o.batchSize})`);
  check(o.checkpointEvery === undefined || (Number.isInteger(o.checkpointEvery) && o.checkpointEvery > 0), `checkpoint interval must be a positive integer (got ${o.checkpointEvery})`);
  checkSsdLoss(o.loss);
  const batchOf = detectionBatches(frameOf(d), images, { threshold: o.matchThreshold ?? 0.5, flip: o.flip !== false });
  const optimizerName = o.optimizer ?? 'adam';
  const optimizer = createOptimizer(optimizerName, { lr: o.lr });
  const schedule = createSchedule(o.schedule ?? 'warmup-cosine', { lr: o.lr, totalSteps: o.steps, warmupSteps: o.warmupSteps ?? Math.min(100, Math.ceil(o.steps / 10)), minLr: 0 });
  const t0 = performance.now();
  const lossName = classLossName(o.loss);
  const config: TrainState['config'] = { optimizer: optimizerName, batchSize: o.batchSize, trainSize: images.length, seed: o.seed, settings: { steps: o.steps, loss: lossName } };

  let from = 0;
  const dir = o.checkpointDir;
  if (dir && o.resume !== false && hasCheckpoint(dir)) {
    const restored = await loadCheckpoint(dir, d.model, optimizer);
    const c = restored!.state.config;
    // Checkpoints from before the loss was a setting were all trained with the focal loss.
    const loss = c.settings?.loss ?? DEFAULT_CLASS_LOSS;
    if (c.optimizer !== config.optimizer || c.batchSize !== config.batchSize || c.trainSize !== config.trainSize || c.seed !== config.seed || loss !== lossName) {
      throw new KilnError(`checkpoint ${dir} was made with ${c.optimizer}, batch ${c.batchSize}, ${c.trainSize} images, seed ${c.seed}, the ${loss} loss; this run differs (delete it to start over)`);
    }
    from = Math.min(restored!.state.step, o.steps);
    o.onResume?.(from);
  }
  const state = (step: number): TrainState => ({
    epoch: 0, batch: step, step, partial: { lossSum: 0, correct: 0, seen: 0 }, history: [], best: null, sinceBest: 0, stoppedEarly: false, config,
  });

  const losses: number[] = [];
  const result = await trainSteps<DetectionBatch>({
    optimizer, from, to: o.steps, schedule, clipNorm: o.clipNorm ?? 10, signal: o.signal,
    variables: d.model.trainableWeights.map((w) => w.read() as tf.Variable),
    batch: (step) => batchOf(createRng(o.seed * 1_000_003 + step), o.batchSize),
    loss: (b) => {
      const raw = d.model.apply(b.x, { training: true }) as tf.Tensor3D;
      return ssdLoss(raw, b, o.loss).total;
    },
    release: disposeBatch,
    onStep: (e) => {
      losses.push(e.loss);
      o.onStep?.({ step: e.step + 1, steps: o.steps, loss: e.loss, lr: e.lr });
    },
    checkpoint: dir ? { every: o.checkpointEvery ?? 100, save: (done) => saveCheckpoint(dir, d.model, optimizer, state(done), null) } : undefined,
  });
  if (dir && result.aborted && result.step > from) await saveCheckpoint(dir, d.model, optimizer, state(result.step), null);
  optimizer.dispose();
  return { steps: result.step, aborted: result.aborted, losses, seconds: (performance.now() - t0) / 1000 };
}
