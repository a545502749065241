import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { check, checkOutputDir, checkOutputFile } from '../../core/index.js';
import {
  AREA_RANGES, COCO_STAT_NAMES, SPLIT_NAMES, cocoGroundTruthJson, cocoGroundTruthOf, datasetPreviewPng, detectionDatasets, evaluateCoco,
  loadDetectionDataset, readCocoGroundTruth, readCocoResults, writeCocoDataset, type DetectionImage, type SplitName,
} from '../../detect/index.js';
import { intParser } from '../flags.js';
import { addModelEvalOptions, modelEvalStats, registerModelCommands, type ModelEvalFlags } from './detect-model.js';

interface EvalFlags extends ModelEvalFlags {
  gt?: string;
  dt?: string;
  json?: boolean;
}

function fileStats(flags: EvalFlags): number[] {
  check(flags.gt, 'kiln detect eval needs --gt GROUND_TRUTH.json (COCO format), or --model DIR --data NAME');
  check(flags.dt, 'kiln detect eval needs --dt RESULTS.json (COCO results: [{image_id, category_id, bbox, score}])');
  const gt = readCocoGroundTruth(flags.gt);
  return evaluateCoco(gt, readCocoResults(flags.dt, gt)).stats;
}

async function runEval(flags: EvalFlags): Promise<void> {
  check(!(flags.model && (flags.gt || flags.dt)), 'kiln detect eval takes either --model (with --data) or --gt and --dt, not both');
  const stats = flags.model ? await modelEvalStats(flags) : fileStats(flags);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ stats })}\n`);
    return;
  }
  const width = Math.max(...COCO_STAT_NAMES.map((n) => n.length));
  COCO_STAT_NAMES.forEach((name, i) => process.stdout.write(`${name.padEnd(width)}  ${stats[i] === -1 ? '-1 (no ground truth)' : stats[i].toFixed(3)}\n`));
}

interface DataFlags {
  data?: string;
  list?: boolean;
  seed: number;
  split: SplitName;
  count: number;
  preview?: string;
  gtOut?: string;
  cocoOut?: string;
}

/** How many boxes fall in each COCO size class (by box area; bounds inclusive as in COCOeval). */
function sizeClasses(images: readonly DetectionImage[]): string {
  const areas = images.flatMap((im) => im.boxes.map((b) => b[2] * b[3]));
  return AREA_RANGES.slice(1).map((r) => `${r.name} ${areas.filter((a) => a >= r.min && a <= r.max).length}`).join(', ');
}

/** Makes an output file's folder (kiln-out/...) and checks the file can be written, before any long work. */
function prepareOutputFile(file: string, what: string): void {
  const dir = path.dirname(path.resolve(file));
  checkOutputDir(dir, `${what} folder`);
  fs.mkdirSync(dir, { recursive: true });
  checkOutputFile(file, what);
}

function runData(flags: DataFlags): void {
  if (flags.list) {
    for (const name of detectionDatasets.names()) process.stdout.write(`${name}\n    ${detectionDatasets.describe(name)}\n`);
    return;
  }
  check(flags.data, 'kiln detect data needs --data NAME (see --list) or a COCO .json annotation file');
  if (flags.preview) prepareOutputFile(flags.preview, 'preview');
  if (flags.gtOut) prepareOutputFile(flags.gtOut, 'ground truth');
  if (flags.cocoOut) checkOutputDir(flags.cocoOut, 'COCO dataset folder');
  const ds = loadDetectionDataset(flags.data, { seed: flags.seed });
  process.stdout.write(`${ds.name}: ${ds.width}x${ds.height}, categories ${ds.categories.map((c) => `${c.id}=${c.name}`).join(' ')}\n`);
  for (const split of SPLIT_NAMES) {
    const images = ds[split];
    const boxes = images.reduce((n, im) => n + im.boxes.length, 0);
    process.stdout.write(`${split}: ${images.length} images, ${boxes} boxes (${sizeClasses(images)})\n`);
  }
  const images = ds[flags.split];
  if (flags.preview) {
    check(images.length > 0, `the ${flags.split} split is empty: nothing to preview`);
    fs.writeFileSync(flags.preview, datasetPreviewPng(images.slice(0, flags.count), ds.categories));
    process.stdout.write(`wrote ${flags.preview}\n`);
  }
  if (flags.gtOut) {
    fs.writeFileSync(flags.gtOut, JSON.stringify(cocoGroundTruthJson(cocoGroundTruthOf(images, ds.categories))));
    process.stdout.write(`wrote ${flags.gtOut} (${flags.split} split, COCO ground truth)\n`);
  }
  if (flags.cocoOut) {
    const file = writeCocoDataset(flags.cocoOut, images, ds.categories);
    process.stdout.write(`wrote ${file} and ${images.length} PNG images (${flags.split} split; load it with --data ${file})\n`);
  }
}

/** The `kiln detect` group; other modules add their subcommands (train, predict) to the same group. */
export function detectGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'detect')
    ?? program.command('detect').description('object detection: datasets with boxes, SSDLite detectors, COCO-protocol evaluation');
}

export function register(program: Command): void {
  detectGroup(program).command('data')
    .description('describe a detection dataset (split sizes, boxes per size class), draw a preview, export COCO ground truth')
    .option('--list', 'list the built-in detection datasets and exit')
    .option('--data <name|file>', 'built-in set (shapes-det, digits-det) or a COCO .json annotation file with PNG images')
    .option('--seed <n>', 'generation seed (built-in sets) or split seed (COCO files)', intParser('--seed', 0), 0)
    .addOption(new Option('--split <name>', 'split to preview or export').choices([...SPLIT_NAMES]).default('val'))
    .option('--count <n>', 'images in the preview', intParser('--count', 1), 8)
    .option('--preview <png>', 'write a PNG of the first --count images with their boxes and labels')
    .option('--gt-out <json>', "write the split's boxes as COCO ground truth (for kiln detect eval --gt)")
    .option('--coco-out <dir>', 'write the split as a COCO dataset: <id>.png images and annotations.json')
    .action((flags: DataFlags) => runData(flags));
  addModelEvalOptions(detectGroup(program).command('eval')
    .description('score a COCO results file against COCO ground truth exactly as pycocotools COCOeval (bbox) does, or a saved detector on a split'))
    .option('--gt <file>', 'ground truth in COCO JSON (images with width/height, categories, annotations)')
    .option('--dt <file>', 'detections as a COCO results list [{image_id, category_id, bbox: [x, y, w, h], score}]')
    .option('--json', `print {"stats": [...]}: the twelve numbers in COCOeval.stats order (${COCO_STAT_NAMES.join(', ')}; -1 = undefined)`)
    .action((flags: EvalFlags) => runEval(flags));
  registerModelCommands(detectGroup(program));
}
