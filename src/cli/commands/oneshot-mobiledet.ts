import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { check, checkOutputDir, createProgress, type Progress } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import {
  boxGridPng, DET_LAYOUTS, DETECTION_DEVICES, detect, detectionDevice, loadDetectionDataset, mobileDetOneShotReport, mobileDetSpace,
  runMobileDetOneShot, saveDetector, type SpaceVariant,
} from '../../detect/index.js';
import { writeFigure, writeReport } from '../../report/index.js';
import { backendOption, interruptSignal, intParser, num, positiveParser } from '../flags.js';
import { detectionLossOption } from './detect-model.js';

/**
 * kiln oneshot mobiledet: the MobileDets pipeline on one device (library: runMobileDetOneShot).
 * Checkpoints in --out/checkpoint; the same command resumes a stopped run.
 */
interface Flags {
  device: string;
  latencyTarget: string;
  data: string;
  dataSeed: number;
  space: SpaceVariant;
  layout: string;
  latencySamples: number;
  searchSteps: number;
  trainSteps: number;
  batch: number;
  lr: string;
  loss: string;
  beta: string;
  controllerLr: string;
  seed: number;
  out?: string;
  backend?: string;
}

/** The device, learning rate and abs-reward beta that MobileDet searches take, checked before any work. */
export function searchFlags(f: { device: string; backend?: string; lr: string; beta: string }) {
  const device = detectionDevice(f.device);
  check(!(f.backend && device.backend && f.backend !== device.backend), `--device ${f.device} runs on the ${device.backend} backend; drop --backend ${f.backend}`);
  const lr = positiveParser('--lr')(f.lr);
  const beta = num(f.beta, '--beta');
  check(beta < 0, `--beta must be negative (the abs reward penalises missing the target), got ${f.beta}`);
  return { device, lr, beta };
}

async function run(f: Flags): Promise<void> {
  const { device, lr, beta } = searchFlags(f);
  const target = positiveParser('--latency-target')(f.latencyTarget);
  const controllerLr = positiveParser('--controller-lr')(f.controllerLr);
  check(f.latencySamples >= 4, `--latency-samples must be at least 4 to fit the latency model (got ${f.latencySamples})`);
  check(f.out, 'kiln oneshot mobiledet needs --out DIR (checkpoint, model, summary.json, report.html)');
  checkOutputDir(f.out, 'output folder');
  const ds = loadDetectionDataset(f.data, { seed: f.dataSeed });
  check(ds.val.length > 0 && ds.test.length > 0, `${ds.name} needs validation and test images`);
  const space = mobileDetSpace(f.space, DET_LAYOUTS[f.layout]);
  await initBackend(device.backend ?? f.backend);
  fs.mkdirSync(f.out, { recursive: true });

  let latencyBar: Progress | undefined;
  const searchBar = createProgress({ label: 'search', total: f.searchSteps });
  const trainBar = createProgress({ label: 'train pick', total: f.trainSteps });
  const stop = interruptSignal('stopping after the current step; re-run the same command to resume');
  try {
    const r = await runMobileDetOneShot({
      deviceName: device.name, device: device.latency, space, splits: ds, categories: ds.categories, inputShape: [ds.height, ds.width, 3],
      target, latencySamples: f.latencySamples, seed: f.seed, signal: stop.signal, loss: { classLoss: f.loss }, checkpointDir: path.join(f.out, 'checkpoint'),
      search: { steps: f.searchSteps, batchSize: Math.max(1, Math.round(f.batch / 2)), lr, warmup: 0.25, beta, controllerLr },
      train: { steps: f.trainSteps, batchSize: f.batch, lr },
      onLatency: (done, total) => {
        latencyBar ??= createProgress({ label: `latency of children on ${device.latency.name}`, total });
        latencyBar.update(done);
      },
      onSearchStep: (e) => searchBar.update(e.step, `loss ${e.loss.toFixed(4)}`),
      onTrainStep: (e) => trainBar.update(e.step, `loss ${e.loss.toFixed(4)}`),
    });
    if (r.stopped || !r.detector) {
      process.stderr.write('kiln: stopped; re-run the same command to resume\n');
      process.exitCode = 130;
      return;
    }
    const s = r.summary;
    const modelDir = path.join(f.out, 'model');
    await saveDetector(r.detector, modelDir);
    const shown = ds.test.slice(0, 8);
    const found = await detect(r.detector, shown, { scoreThreshold: 0.3 });
    writeFigure(f.out, 'detections.png', boxGridPng(shown.map((im) => ({
      ...im, boxes: found.filter((d) => d.imageId === im.id).map((d) => ({ box: d.box, categoryId: d.categoryId, note: d.score.toFixed(2) })),
    })), ds.categories));
    r.detector.model.dispose();
    fs.writeFileSync(path.join(f.out, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`);
    const { doc, figures } = mobileDetOneShotReport(s, [{ file: 'detections.png', caption: 'The pick on the first test images (scores >= 0.3).' }]);
    for (const [file, svg] of Object.entries(figures)) writeFigure(f.out, file, svg);
    const { html } = writeReport(f.out, doc);
    process.stdout.write(`latency model on ${device.latency.name}: fit MAPE ${(100 * s.latencyModel.fitMape).toFixed(1)}%, children ` +
      `${s.latencyModel.rangeMs.map((x) => x.toFixed(3)).join('-')} ms\n`);
    if (target < s.latencyModel.rangeMs[0] || target > s.latencyModel.rangeMs[1]) process.stdout.write(`note: target ${target} ms is outside the sampled children's range\n`);
    process.stdout.write(`found ${s.arch} (${s.params} parameters): predicted ${s.predictedLatency.toFixed(3)} ms, measured ${s.measuredLatency.toFixed(3)} ms (target ${target})\n`);
    process.stdout.write(`test AP ${s.stats[0].toFixed(3)}, AP50 ${s.stats[1].toFixed(3)}, AP75 ${s.stats[2].toFixed(3)} (${s.testImages} images); ` +
      `search ${s.search.seconds.toFixed(1)} s, training ${s.train.seconds.toFixed(1)} s\n`);
    process.stdout.write(`saved ${modelDir} (kiln detect eval --model ${modelDir} --data ${f.data}), ${path.join(f.out, 'summary.json')}, ${html}\n`);
  } finally {
    stop.dispose();
  }
}

export function register(program: Command): void {
  const oneshot = program.commands.find((c) => c.name() === 'oneshot')
    ?? program.command('oneshot').description('one-shot architecture search with weight sharing (TabNAS, TuNAS, BigNAS, MobileDets)');
  oneshot.command('mobiledet')
    .description('MobileDets: TuNAS search of an SSDLite backbone (IBN, fused IBN, Tucker blocks) under a latency target measured on a device, ' +
      'then standalone training of the pick, COCO evaluation and measured latency; summary.json + report.html')
    .addOption(new Option('--device <name>', 'where latency is measured, batch 1: native (tfjs on the native backend), wasm (tfjs on wasm in a worker thread) or onnx (onnxruntime-node)')
      .choices([...DETECTION_DEVICES]).default('onnx'))
    .requiredOption('--latency-target <ms>', 'latency target T0 in milliseconds on --device')
    .option('--data <name|file>', 'detection set (shapes-det, digits-det) or a COCO .json annotation file', 'shapes-det')
    .option('--data-seed <n>', 'generation seed (built-in sets) or split seed (COCO files)', intParser('--data-seed', 0), 0)
    .addOption(new Option('--space <variant>', 'full (IBN, fused IBN, Tucker) or ibn (IBN only)').choices(['full', 'ibn']).default('full'))
    .addOption(new Option('--layout <name>', 'backbone stage layout (tiny: quick runs)').choices(Object.keys(DET_LAYOUTS)).default('default'))
    .option('--latency-samples <n>', 'random children measured whole to fit the linear latency model', intParser('--latency-samples', 1), 30)
    .option('--search-steps <n>', 'supernet steps (the first quarter warm up: RL off, path dropout)', intParser('--search-steps', 1), 120)
    .option('--train-steps <n>', 'standalone training steps of the pick', intParser('--train-steps', 1), 600)
    .option('--batch <n>', 'standalone training batch (the search uses half)', intParser('--batch', 1), 16)
    .option('--lr <x>', 'Adam learning rate of the supernet and the standalone training', '0.01')
    .addOption(detectionLossOption())
    .option('--beta <x>', 'abs reward Q + beta*|T/T0 - 1| (beta < 0)', '-0.5')
    .option('--controller-lr <x>', 'controller Adam learning rate', '0.05')
    .option('--seed <n>', 'seed of the latency sample, the weights, the controller and the batches', intParser('--seed', 0), 0)
    .option('--out <dir>', 'folder: checkpoint, model/, summary.json, report.html, figures')
    .addOption(backendOption())
    .action((f: Flags) => run(f));
}
