import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { check, checkOutputDir } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import {
  DET_LAYOUTS, DETECTION_DEVICES, loadDetectionDataset, mobileDetsConclusion, mobileDetsReport, mobileDetsVerdicts, runMobileDetsExperiment,
} from '../../detect/index.js';
import { writeFigure, writeReport } from '../../report/index.js';
import { backendOption, interruptSignal, intParser, listFlag, positiveParser } from '../flags.js';
import { searchFlags } from './oneshot-mobiledet.js';
import { detectionLossOption } from './detect-model.js';

/** kiln experiment mobiledets: the paper's comparison at Kiln's scale (library: runMobileDetsExperiment). */
interface Flags {
  device: string;
  targets: string;
  seeds: number;
  data: string;
  dataSeed: number;
  train: number;
  val: number;
  test: number;
  layout: string;
  latencySamples: number;
  searchSteps: number;
  trainSteps: number;
  batch: number;
  lr: string;
  loss: string;
  beta: string;
  out?: string;
  backend?: string;
}

async function run(f: Flags): Promise<void> {
  const { device, lr, beta } = searchFlags(f);
  const targets = listFlag(f.targets).map((t) => positiveParser('--targets')(t));
  check(targets.length > 0, '--targets needs one or more latency targets in ms, e.g. 0.1,0.14');
  check(f.latencySamples >= 4, `--latency-samples must be at least 4 to fit the latency model (got ${f.latencySamples})`);
  check(f.out, 'kiln experiment mobiledets needs --out DIR (report, figures, finished cells; re-running resumes)');
  checkOutputDir(f.out, 'output folder');
  const ds = loadDetectionDataset(f.data, { seed: f.dataSeed, train: f.train, val: f.val, test: f.test });
  await initBackend(device.backend ?? f.backend);
  fs.mkdirSync(f.out, { recursive: true });
  const t0 = performance.now();
  const stop = interruptSignal('stopping after the current search or training; re-run the same command to resume');
  try {
    const e = await runMobileDetsExperiment({
      device, splits: ds, categories: ds.categories, inputShape: [ds.height, ds.width, 3], layout: DET_LAYOUTS[f.layout], targets,
      seeds: Array.from({ length: f.seeds }, (_, i) => i + 1), latencySamples: f.latencySamples, out: f.out, signal: stop.signal, loss: { classLoss: f.loss },
      search: { steps: f.searchSteps, batchSize: Math.max(1, Math.round(f.batch / 2)), lr, warmup: 0.25, beta, controllerLr: 0.05 },
      train: { steps: f.trainSteps, batchSize: f.batch, lr },
      onCell: (done, total, label) => process.stderr.write(`[${done}/${total}] ${label}\n`),
    });
    if (e.stopped) {
      process.stderr.write('kiln: stopped; re-run the same command to resume\n');
      process.exitCode = 130;
      return;
    }
    const { doc, figures } = mobileDetsReport(e, {
      data: ds.name, trainImages: ds.train.length, testImages: ds.test.length, layout: f.layout, searchSteps: f.searchSteps,
      trainSteps: f.trainSteps, batch: f.batch, loss: f.loss, seconds: (performance.now() - t0) / 1000,
    });
    for (const [file, svg] of Object.entries(figures)) writeFigure(f.out, file, svg);
    fs.writeFileSync(path.join(f.out, 'experiment.json'), `${JSON.stringify(e, null, 2)}\n`);
    const { html } = writeReport(f.out, doc);
    for (const g of e.groups) {
      process.stdout.write(`${g.method.padEnd(14)} target ${g.target} ms: measured ${g.latency.mean.toFixed(3)} ms, AP ${g.ap.mean.toFixed(3)} ± ${g.ap.half.toFixed(3)} (${g.ap.n} seeds)\n`);
    }
    for (const line of mobileDetsVerdicts(e.groups)) process.stdout.write(`${line}\n`);
    process.stdout.write(`${mobileDetsConclusion(e.groups).replace(/\*\*/g, '')}\n`);
    process.stdout.write(`report: ${html}\n`);
  } finally {
    stop.dispose();
  }
}

export function register(program: Command): void {
  const experiment = program.commands.find((c) => c.name() === 'experiment') ??
    program.command('experiment').description('reproduce a paper\'s experiment and write a report');
  experiment.command('mobiledets')
    .description('MobileDets: IBN-only vs full search space at latency targets on one device, against MobileNetV2/V3-like SSDLite at matched ' +
      'measured latency; test mAP with 95% intervals over seeds; report.html with mAP vs latency')
    .addOption(new Option('--device <name>', 'native (tfjs on the native backend), wasm (tfjs on wasm in a worker thread) or onnx (onnxruntime-node); batch 1')
      .choices([...DETECTION_DEVICES]).default('onnx'))
    .option('--targets <ms,...>', 'latency targets in ms on --device (the defaults suit the tiny layout on onnx)', '0.1,0.14')
    .option('--seeds <n>', 'seeds 1..n of every search and training', intParser('--seeds', 1), 3)
    .option('--data <name|file>', 'detection set (shapes-det, digits-det) or a COCO .json annotation file', 'shapes-det')
    .option('--data-seed <n>', 'generation or split seed of the data', intParser('--data-seed', 0), 0)
    .option('--train <n>', 'training images of a built-in set', intParser('--train', 1), 2000)
    .option('--val <n>', 'validation images of a built-in set (the search\'s reward)', intParser('--val', 1), 300)
    .option('--test <n>', 'test images of a built-in set (mAP)', intParser('--test', 1), 300)
    .addOption(new Option('--layout <name>', 'backbone stage layout (tiny: quick runs)').choices(Object.keys(DET_LAYOUTS)).default('tiny'))
    .option('--latency-samples <n>', 'children measured whole to fit each space\'s latency model', intParser('--latency-samples', 1), 24)
    .option('--search-steps <n>', 'supernet steps per search (the first quarter warm up: RL off, path dropout)', intParser('--search-steps', 1), 120)
    .option('--train-steps <n>', 'standalone training steps of every model', intParser('--train-steps', 1), 300)
    .option('--batch <n>', 'standalone training batch (searches use half)', intParser('--batch', 1), 16)
    .option('--lr <x>', 'Adam learning rate', '0.01')
    .addOption(detectionLossOption())
    .option('--beta <x>', 'abs reward slope (beta < 0)', '-0.5')
    .option('--out <dir>', 'folder: report.html, report.md, map-vs-latency.svg, experiment.json, cells/ and checkpoints/ (re-running resumes)')
    .addOption(backendOption())
    .action((f: Flags) => run(f));
}
