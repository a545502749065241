/**
 * Explain benchmark on an MNIST CNN trained by Kiln: for every analyzer, ms per analyzed image
 * (batch 32), the model-parameter randomization test (Adebayo et al.) and pixel-flipping curves
 * with their AOPC. Writes report.md/.html, SVG figures and results.json.
 * Run: node dist/bench/explain.js --help
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/math/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { loadMnist, splitDataset, subset, numExamples, exampleSize, type Dataset } from '../src/data/index.js';
import { cnn, loadModel, saveModel } from '../src/nn/index.js';
import { fit, evaluate } from '../src/train/index.js';
import {
  analyzers, cascadingRandomization, createAnalyzer, pixelFlipping, type Analyzer,
} from '../src/explain/index.js';
import { linePlot, writeFigure, writeReport, type Block } from '../src/report/index.js';

const HELP = `usage: node dist/bench/explain.js [options]
  --out <dir>          output folder (default kiln-out/explain-bench)
  --analyzers <list>   comma-separated analyzers (default all registered)
  --epochs <n>         CNN training epochs when no trained model is cached in --out (default 3)
  --speed-repeats <n>  timed batches of 32 per analyzer, median reported (default 3)
  --flip-images <n>    test images for pixel flipping (default 64)
  --random-images <n>  test images for the randomization test (default 16)
  --skip-sanity        only measure speed
  --backend <name>     wasm (default) or cpu
  -h, --help           this text`;

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'kiln-out/explain-bench' },
    analyzers: { type: 'string' },
    epochs: { type: 'string', default: '3' },
    'speed-repeats': { type: 'string', default: '3' },
    'flip-images': { type: 'string', default: '64' },
    'random-images': { type: 'string', default: '16' },
    'skip-sanity': { type: 'boolean', default: false },
    backend: { type: 'string', default: 'wasm' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

/** Options for analyzers that need them on MNIST pixels in [0, 1]; SmoothGrad noise at 10% of the range, as iNNvestigate's examples. */
const OPTIONS: Record<string, Record<string, unknown>> = {
  'lrp.alpha_beta': { alpha: 2 },
  'deep_taylor.bounded': { low: 0, high: 1 },
  smoothgrad: { noise_scale: 0.1 },
};

function tensorOf(ds: Dataset): tf.Tensor {
  return tf.tensor(ds.x, [numExamples(ds), ...ds.shape]);
}

async function trainedModel(dir: string, splits: ReturnType<typeof splitDataset>, epochs: number): Promise<tf.LayersModel> {
  const file = path.join(dir, 'model', 'model.json');
  if (fs.existsSync(file)) {
    console.log(`using the trained model in ${file}`);
    return loadModel(file);
  }
  setSeed(1);
  const model = cnn({ inputShape: [28, 28, 1], outputs: 10, filters: [8, 16], dense: 64 });
  const t0 = Date.now();
  await fit(model, { train: splits.train, val: splits.val }, {
    epochs, batchSize: 64, lr: 2e-3, seed: 1,
    onEpoch: (log) => console.log(`epoch ${JSON.stringify(log)}`),
  });
  console.log(`trained in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  await saveModel(model, path.join(dir, 'model'));
  return model;
}

function build(name: string, model: tf.LayersModel, fitData: tf.Tensor): Analyzer {
  const a = createAnalyzer(name, model, { ...(OPTIONS[name] ?? {}), stripSoftmax: true });
  a.fit?.(fitData);
  return a;
}

async function main(): Promise<void> {
  const backend = await initBackend(args.backend);
  const out = args.out!;
  fs.mkdirSync(out, { recursive: true });
  const mnist = loadMnist();
  const splits = splitDataset(mnist, { val: 0.1, test: 0.1, seed: 0 });
  const model = await trainedModel(out, splits, Number(args.epochs));
  const metrics = await evaluate(model, splits.test);
  console.log(`test metrics ${JSON.stringify(metrics)}`);

  const names = args.analyzers ? args.analyzers.split(',') : analyzers.names();
  const fitSet = subset(splits.train, Array.from({ length: Math.min(2000, numExamples(splits.train)) }, (_, i) => i));
  const fitData = tensorOf(fitSet);
  const speedX = tensorOf(subset(splits.test, Array.from({ length: 32 }, (_, i) => i)));
  const repeats = Number(args['speed-repeats']);

  const rows: { name: string; ms: number; aopc?: number; top?: number; all?: number }[] = [];
  const curves: { name: string; x: number[]; y: number[] }[] = [];
  const cascades: { name: string; x: number[]; y: number[] }[] = [];
  let cascadeLayers: string[] = [];
  const flipN = Number(args['flip-images']);
  const flipSet = subset(splits.test, Array.from({ length: flipN }, (_, i) => 100 + i));
  const flipX = tensorOf(flipSet);
  const probs = (x: tf.Tensor) => model.predict(x) as tf.Tensor;
  const flipTarget = Array.from(tf.tidy(() => tf.argMax(probs(flipX), 1).dataSync()));
  const randX = tensorOf(subset(splits.test, Array.from({ length: Number(args['random-images']) }, (_, i) => 300 + i)));

  for (const name of names) {
    const analyzer = build(name, model, fitData);
    analyzer.analyze(speedX).dispose();
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const res = analyzer.analyze(speedX);
      res.dataSync();
      times.push(performance.now() - t0);
      res.dispose();
    }
    const row: (typeof rows)[number] = { name, ms: median(times) / 32 };
    if (!args['skip-sanity']) {
      const rel = analyzer.analyze(flipX, { neuronSelection: 'index', index: flipTarget });
      const curve = pixelFlipping(probs, flipX, rel, flipTarget, { steps: 20, maxFraction: 0.2 });
      rel.dispose();
      row.aopc = curve.aopc;
      curves.push({ name, x: curve.fractions, y: curve.scores });
      const steps = cascadingRandomization(model, (m) => {
        const a = build(name, m, fitData);
        const r = a.analyze(randX);
        a.dispose();
        return r;
      }, { seed: 3 });
      cascadeLayers = steps.map((s) => s.layer);
      row.top = steps[1].similarity;
      row.all = steps[steps.length - 1].similarity;
      cascades.push({ name, x: steps.map((_, i) => i), y: steps.map((s) => s.similarity) });
    }
    analyzer.dispose();
    rows.push(row);
    console.log(`${name}: ${row.ms.toFixed(2)} ms/image` + (row.aopc !== undefined
      ? `, AOPC ${row.aopc.toFixed(3)}, rank corr. after top layer ${row.top!.toFixed(2)}, all layers ${row.all!.toFixed(2)}` : ''));
  }

  const blocks: Block[] = [
    { kind: 'text', text: `MNIST CNN (${model.countParams()} parameters, Kiln \`cnn\` builder, trained by Kiln's \`fit\`), ` +
      `test accuracy ${(metrics.accuracy * 100).toFixed(1)}% on ${numExamples(splits.test)} images of ${exampleSize(mnist)} pixels. ` +
      `Backend ${backend}, one process. Analyzers explain the logits (softmax stripped); defaults as iNNvestigate except ` +
      `smoothgrad noise_scale 0.1, lrp.alpha_beta alpha 2, deep_taylor.bounded [0, 1]. Patterns fitted on ${numExamples(fitSet)} training images.` },
    { kind: 'table', columns: ['analyzer', 'ms / image (batch 32)', 'AOPC (prob., 20% pixels)', 'rank corr. top layer random', 'rank corr. all random'],
      rows: rows.map((r) => [r.name, r.ms.toFixed(2), r.aopc?.toFixed(3) ?? '-', r.top?.toFixed(2) ?? '-', r.all?.toFixed(2) ?? '-']),
      caption: 'Speed, pixel-flipping AOPC (higher = more faithful; compare with random) and cascading randomization ' +
        `(Spearman of |attribution| with the trained model's; near 1 = insensitive to the weights). Flipping: ${flipN} test images, ` +
        `most relevant pixels set to 0 in 20 steps up to 20% of the image, probability of the predicted class tracked.` },
  ];
  if (curves.length) {
    writeFigure(out, 'pixel-flipping.svg', linePlot(curves, { title: 'Pixel flipping (most relevant first)',
      xLabel: 'fraction of pixels removed', yLabel: 'mean probability of the predicted class', width: 900, height: 600 }));
    writeFigure(out, 'randomization.svg', linePlot(cascades, { title: 'Cascading model-parameter randomization',
      xLabel: `layers randomized from the top (${cascadeLayers.slice(1).join(' > ')})`, yLabel: 'Spearman rank correlation',
      width: 900, height: 600 }));
    blocks.push({ kind: 'figure', file: 'pixel-flipping.svg', caption: 'Pixel-flipping curves' },
      { kind: 'figure', file: 'randomization.svg', caption: 'Randomization cascade' });
  }
  writeReport(out, { title: 'Explain: speed, sanity and faithfulness on MNIST', blocks });
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify({ backend, metrics, rows, curves, cascades, cascadeLayers }, null, 1));
  console.log(`wrote ${path.join(out, 'report.md')}`);
}

await main();
