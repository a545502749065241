import type { Command } from 'commander';
import { check } from '../../core/index.js';
import { COCO_STAT_NAMES, evaluateCoco, readCocoGroundTruth, readCocoResults } from '../../detect/index.js';

interface EvalFlags {
  gt?: string;
  dt?: string;
  json?: boolean;
}

function runEval(flags: EvalFlags): void {
  check(flags.gt, 'kiln detect eval needs --gt GROUND_TRUTH.json (COCO format)');
  check(flags.dt, 'kiln detect eval needs --dt RESULTS.json (COCO results: [{image_id, category_id, bbox, score}])');
  const gt = readCocoGroundTruth(flags.gt);
  const { stats } = evaluateCoco(gt, readCocoResults(flags.dt, gt));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ stats })}\n`);
    return;
  }
  const width = Math.max(...COCO_STAT_NAMES.map((n) => n.length));
  COCO_STAT_NAMES.forEach((name, i) => process.stdout.write(`${name.padEnd(width)}  ${stats[i] === -1 ? '-1 (no ground truth)' : stats[i].toFixed(3)}\n`));
}

/** The `kiln detect` group; other modules add their subcommands (train, predict) to the same group. */
export function detectGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'detect')
    ?? program.command('detect').description('object detection: datasets with boxes, SSDLite detectors, COCO-protocol evaluation');
}

export function register(program: Command): void {
  detectGroup(program).command('eval')
    .description('score a COCO results file against COCO ground truth exactly as pycocotools COCOeval (bbox) does')
    .option('--gt <file>', 'ground truth in COCO JSON (images with width/height, categories, annotations)')
    .option('--dt <file>', 'detections as a COCO results list [{image_id, category_id, bbox: [x, y, w, h], score}]')
    .option('--json', `print {"stats": [...]}: the twelve numbers in COCOeval.stats order (${COCO_STAT_NAMES.join(', ')}; -1 = undefined)`)
    .action((flags: EvalFlags) => runEval(flags));
}
