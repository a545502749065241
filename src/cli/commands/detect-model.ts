import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { check, checkInputFile, checkOutputDir, checkOutputFile, createProgress } from '../../core/index.js';
import { initBackend, setSeed } from '../../backend/index.js';
import { hasCheckpoint } from '../../train/index.js';
import {
  architectureOf, boxGridPng, buildDetector, checkDetectorCategories, COCO_DETECTION_BUDGET, cocoResultsJson, DET_LAYOUTS, detect, evaluateDetector,
  exportDetector, loadDetectionDataset, loadDetector, mobileDetSpace, saveDetector, SPLIT_NAMES, SSD_CLASS_LOSSES, DEFAULT_CLASS_LOSS, trainDetector, type DetectionDataset, type Detector,
  type SpaceVariant, type SplitName,
} from '../../detect/index.js';
import { backendOption, interruptSignal, intParser, num, positiveParser } from '../flags.js';

/**
 * kiln detect train|predict|export and the model side of kiln detect eval: an SSDLite detector
 * over a MobileDet architecture, trained on a detection set and saved in tfjs format in --out
 * (model.json with the detector's config, weights.bin; checkpoints in --out/checkpoint).
 */

const CHECKPOINT = 'checkpoint';

interface DataFlags {
  data?: string;
  dataSeed: number;
  backend?: string;
}

function loadData(flags: DataFlags): DetectionDataset {
  check(flags.data, 'needs --data NAME (shapes-det, digits-det) or a COCO .json annotation file');
  return loadDetectionDataset(flags.data, { seed: flags.dataSeed });
}

/** The saved detector of --model and the split it is asked to work on, checked to fit each other. */
async function modelAndSplit(flags: DataFlags & { model?: string; split: SplitName }): Promise<{ detector: Detector; ds: DetectionDataset }> {
  check(flags.model, 'needs --model DIR (a folder written by kiln detect train, or its model.json)');
  checkInputFile(fs.existsSync(flags.model) && fs.statSync(flags.model).isDirectory() ? path.join(flags.model, 'model.json') : flags.model, 'model');
  const ds = loadData(flags);
  check(ds[flags.split].length > 0, `the ${flags.split} split of ${ds.name} is empty`);
  await initBackend(flags.backend);
  const detector = await loadDetector(flags.model);
  checkDetectorCategories(detector, ds.categories);
  return { detector, ds };
}

interface TrainFlags extends DataFlags {
  arch: string;
  space: SpaceVariant;
  layout: string;
  steps: number;
  batch: number;
  lr: string;
  loss: string;
  seed: number;
  out?: string;
  resume?: boolean;
}

async function runTrain(flags: TrainFlags): Promise<void> {
  check(flags.out, 'kiln detect train needs --out DIR (the saved model and its checkpoint)');
  checkOutputDir(flags.out, 'model folder');
  const lr = positiveParser('--lr')(flags.lr);
  const checkpointDir = path.join(flags.out, CHECKPOINT);
  const saved = hasCheckpoint(checkpointDir);
  if (flags.resume) check(saved, `--resume: no checkpoint in ${checkpointDir}`);
  else check(!saved, `${flags.out} holds a checkpoint: pass --resume to continue it, or choose another --out`);
  const space = mobileDetSpace(flags.space, DET_LAYOUTS[flags.layout]);
  const arch = architectureOf(space, flags.arch);
  const ds = loadData(flags);
  await initBackend(flags.backend);
  setSeed(flags.seed);
  const detector = buildDetector({ space, arch, inputShape: [ds.height, ds.width, 3], categories: ds.categories });
  fs.mkdirSync(flags.out, { recursive: true });
  process.stdout.write(`${ds.name}: ${ds.train.length} training images; ${space.name} architecture ${space.toString(arch)}, ${detector.model.countParams()} parameters\n`);
  const progress = createProgress({ label: 'train', total: flags.steps });
  const stop = interruptSignal('stopping after the current step; re-run with --resume to continue');
  try {
    const r = await trainDetector(detector, ds.train, {
      steps: flags.steps, batchSize: flags.batch, lr, loss: { classLoss: flags.loss }, seed: flags.seed, checkpointDir, resume: flags.resume, signal: stop.signal,
      checkpointEvery: Math.max(1, Math.min(100, Math.ceil(flags.steps / 10))),
      onResume: (step) => process.stdout.write(`resumed from ${checkpointDir} at step ${step}\n`),
      onStep: (e) => progress.update(e.step, `loss ${e.loss.toFixed(4)}`),
    });
    if (r.aborted) {
      process.stderr.write(`kiln: stopped at step ${r.steps}; re-run with --resume to continue\n`);
      process.exitCode = 130;
      return;
    }
    progress.done();
    const file = await saveDetector(detector, flags.out);
    const last = r.losses.length ? ` (last loss ${r.losses[r.losses.length - 1].toFixed(4)})` : '';
    process.stdout.write(`trained ${r.steps} steps in ${r.seconds.toFixed(1)} s${last}\n`);
    if (ds.val.length > 0) {
      const { evaluation } = await evaluateDetector(detector, ds.val);
      process.stdout.write(`val: AP ${evaluation.stats[0].toFixed(3)}, AP50 ${evaluation.stats[1].toFixed(3)} (${ds.val.length} images)\n`);
    }
    process.stdout.write(`saved ${file}\n`);
  } finally {
    stop.dispose();
    detector.model.dispose();
  }
}

interface PredictFlags extends DataFlags {
  model?: string;
  split: SplitName;
  count: number;
  scoreThreshold: string;
  png?: string;
  json?: string;
}

async function runPredict(flags: PredictFlags): Promise<void> {
  check(flags.png || flags.json, 'kiln detect predict needs --png FILE and/or --json FILE');
  const threshold = num(flags.scoreThreshold, '--score-threshold', { min: 0, max: 1 });
  if (flags.png) checkOutputFile(flags.png, 'PNG');
  if (flags.json) checkOutputFile(flags.json, 'results');
  const { detector, ds } = await modelAndSplit(flags);
  try {
    const images = ds[flags.split];
    if (flags.png) {
      const shown = images.slice(0, flags.count);
      const found = await detect(detector, shown, { scoreThreshold: threshold });
      const panels = shown.map((im) => ({
        ...im, boxes: found.filter((d) => d.imageId === im.id).map((d) => ({ box: d.box, categoryId: d.categoryId, note: d.score.toFixed(2) })),
      }));
      fs.writeFileSync(flags.png, boxGridPng(panels, ds.categories));
      process.stdout.write(`wrote ${flags.png}: ${found.length} boxes scored >= ${threshold} on the first ${shown.length} ${flags.split} images\n`);
    }
    if (flags.json) {
      const all = await detect(detector, images, COCO_DETECTION_BUDGET);
      fs.writeFileSync(flags.json, JSON.stringify(cocoResultsJson(all)));
      process.stdout.write(`wrote ${flags.json}: ${all.length} detections on the ${images.length} ${flags.split} images (COCO results; ` +
        `score kiln detect data --split ${flags.split} --gt-out GT.json, then kiln detect eval --gt GT.json --dt ${flags.json})\n`);
    }
  } finally {
    detector.model.dispose();
  }
}

export interface ModelEvalFlags extends DataFlags {
  model?: string;
  split: SplitName;
}

/** COCO stats of a saved detector on a split of --data (for kiln detect eval --model). */
export async function modelEvalStats(flags: ModelEvalFlags): Promise<number[]> {
  const { detector, ds } = await modelAndSplit(flags);
  try {
    return (await evaluateDetector(detector, ds[flags.split])).evaluation.stats;
  } finally {
    detector.model.dispose();
  }
}

async function runExport(flags: { model?: string; onnx?: string; backend?: string }): Promise<void> {
  check(flags.model, 'kiln detect export needs --model DIR');
  check(flags.onnx, 'kiln detect export needs --onnx FILE');
  checkOutputFile(flags.onnx, 'ONNX file');
  await initBackend(flags.backend);
  const detector = await loadDetector(flags.model);
  try {
    const bytes = exportDetector(detector);
    fs.writeFileSync(flags.onnx, bytes);
    const [h, w] = detector.config.inputShape;
    process.stdout.write(`wrote ${flags.onnx} (${bytes.length} bytes): input 'input' [N, ${h}, ${w}, 3] in [0, 1], output 'output' ` +
      `[N, ${detector.anchors.length / 4}, ${4 + detector.config.categories.length}] (encoded boxes, then one logit per category)\n`);
  } finally {
    detector.model.dispose();
  }
}

/** --loss: the detector's classification loss, for training and for the searches' supernets. */
export const detectionLossOption = () => new Option('--loss <name>', 'classification loss: focal (RetinaNet) or hard-negatives (SSD\'s 3:1 hard negative mining)')
  .choices(Object.keys(SSD_CLASS_LOSSES)).default(DEFAULT_CLASS_LOSS);

const dataOption = () => new Option('--data <name|file>', 'built-in set (shapes-det, digits-det) or a COCO .json annotation file with PNG images');
const dataSeedOption = () => new Option('--data-seed <n>', 'generation seed (built-in sets) or split seed (COCO files); the same as in training')
  .argParser(intParser('--data-seed', 0)).default(0);
const splitOption = (fallback: SplitName) => new Option('--split <name>', 'split to run on').choices([...SPLIT_NAMES]).default(fallback);

/** Options kiln detect eval adds for scoring a saved model. */
export function addModelEvalOptions(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'score a detector saved by kiln detect train on --data (instead of --gt/--dt)')
    .addOption(dataOption())
    .addOption(dataSeedOption())
    .addOption(splitOption('test'))
    .addOption(backendOption());
}

/** kiln detect train, predict and export, in the detect group. */
export function registerModelCommands(group: Command): void {
  group.command('train')
    .description('train an SSDLite detector over a MobileDet architecture (or a MobileNetV2/V3-like baseline); checkpoints, resume, saves model.json')
    .addOption(dataOption())
    .addOption(dataSeedOption())
    .option('--arch <arch>', 'mobilenetv2, mobilenetv3, or an architecture of --space in text form (e.g. from kiln oneshot mobiledet)', 'mobilenetv2')
    .addOption(new Option('--space <variant>', 'search space the architecture belongs to: full (IBN, fused, Tucker) or ibn').choices(['full', 'ibn']).default('full'))
    .addOption(new Option('--layout <name>', 'backbone stage layout (tiny: fewer, narrower stages, for quick runs)').choices(Object.keys(DET_LAYOUTS)).default('default'))
    .option('--steps <n>', 'training steps', intParser('--steps', 1), 600)
    .option('--batch <n>', 'images per step', intParser('--batch', 1), 16)
    .option('--lr <x>', 'Adam learning rate (warm-up, then cosine decay)', '0.01')
    .addOption(detectionLossOption())
    .option('--seed <n>', 'seed of the weights and the batches', intParser('--seed', 0), 0)
    .option('--out <dir>', 'folder for model.json + weights.bin and the checkpoint')
    .option('--resume', 'continue the checkpoint in --out')
    .addOption(backendOption())
    .action((flags: TrainFlags) => runTrain(flags));
  group.command('predict')
    .description('draw a saved detector\'s boxes on images of a split (PNG) and/or write its COCO results JSON for kiln detect eval')
    .option('--model <dir>', 'folder written by kiln detect train (or its model.json)')
    .addOption(dataOption())
    .addOption(dataSeedOption())
    .addOption(splitOption('test'))
    .option('--count <n>', 'images drawn in the PNG', intParser('--count', 1), 8)
    .option('--score-threshold <x>', 'boxes drawn from this score on', '0.3')
    .option('--png <file>', 'PNG grid of the first --count images with predicted boxes, labels and scores')
    .option('--json <file>', 'COCO results [{image_id, category_id, bbox, score}] for every image of the split (scores >= 0.01, 100 per image)')
    .addOption(backendOption())
    .action((flags: PredictFlags) => runPredict(flags));
  group.command('export')
    .description('export a saved detector to ONNX (raw rows; decode and NMS as kiln does) for onnxruntime')
    .option('--model <dir>', 'folder written by kiln detect train (or its model.json)')
    .option('--onnx <file>', 'ONNX file to write')
    .addOption(backendOption())
    .action((flags: { model?: string; onnx?: string; backend?: string }) => runExport(flags));
}
