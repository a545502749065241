/**
 * Attack throughput: images per second of each attack named (PGD-Linf, 40 steps, by default; others at
 * their own defaults unless --steps is given) against a small MNIST CNN (Kiln's `cnn` builder: two 3x3
 * conv + pool stages, dense 64). Without --model it first trains the CNN for one short epoch so the
 * attacks run against a real, accurate model.
 * Run: node dist/bench/attack.js --help
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { loadDataset, subset } from '../src/data/index.js';
import { cnn, loadModel, saveModel } from '../src/nn/index.js';
import { classifierOf, evaluateAttack } from '../src/robust/index.js';
import { fit } from '../src/train/index.js';

const HELP = `usage: node dist/bench/attack.js [options]
  --model <path>        attack this saved model instead of training a CNN first
  --save-model <dir>    save the freshly trained CNN here (reusable with --model and 'kiln attack')
  --train <n>           MNIST images for the one-epoch training run (default 6000)
  --attack <a,b,...>    attacks, comma-separated, each timed in turn (default pgd-linf)
  --steps <n>           attack iterations (default: 40 for pgd-linf, each attack's own default otherwise)
  --eps <e>             budget (default 0.1)
  --n <n>               images attacked (default 256)
  --batch-size <n>      images per attack batch (default 64)
  --backend <name>      wasm or cpu (default wasm)
  -h, --help            this text`;

const { values } = parseArgs({
  options: {
    model: { type: 'string' }, 'save-model': { type: 'string' }, train: { type: 'string', default: '6000' },
    attack: { type: 'string', default: 'pgd-linf' }, steps: { type: 'string' },
    eps: { type: 'string', default: '0.1' }, n: { type: 'string', default: '256' },
    'batch-size': { type: 'string', default: '64' }, backend: { type: 'string', default: 'wasm' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(HELP + '\n');
  process.exit(0);
}

const backend = await initBackend(values.backend);
const mnist = loadDataset('mnist');
const n = Number(values.n);
// The mnist package lists images digit by digit: shuffle (seeded), attack the last n, train on the others.
const all = createRng(0).shuffle([...mnist.y.keys()]);
const test = subset(mnist, all.slice(-n));

let model: tf.LayersModel;
if (values.model) {
  model = await loadModel(values.model);
} else {
  setSeed(0);
  model = cnn({ inputShape: [28, 28, 1], outputs: 10 });
  const train = subset(mnist, all.slice(0, Math.min(all.length - n, Number(values.train))));
  const t0 = performance.now();
  await fit(model, { train }, { epochs: 1, batchSize: 64, lr: 2e-3, seed: 0 });
  process.stderr.write(`trained the CNN on ${train.y.length} images in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  if (values['save-model']) process.stderr.write(`saved ${await saveModel(model, values['save-model'])}\n`);
}

const classifier = classifierOf(model);
const batch = Number(values['batch-size']);
for (const name of values.attack!.split(',')) {
  const steps = values.steps !== undefined ? Number(values.steps) : name === 'pgd-linf' ? 40 : undefined;
  const opts = { eps: Number(values.eps), steps };
  // Warm-up, one step on a few images (kernel compilation, first allocations), then the timed run.
  evaluateAttack(classifier, test.x, test.y.subarray(0, 8), test.shape, name, { ...opts, steps: 1 }, batch, 0);
  const cpu0 = process.cpuUsage();
  const r = evaluateAttack(classifier, test.x, test.y, test.shape, name, opts, batch, 0);
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(
    `${name}${steps ? `-${steps}` : ''} eps ${opts.eps} on ${r.n} MNIST images, batch ${batch}, backend ${backend}, ${os.cpus()[0]?.model ?? 'cpu'}\n` +
    `  clean accuracy ${(100 * r.cleanAccuracy).toFixed(1)}%, robust accuracy ${(100 * r.robustAccuracy).toFixed(1)}%\n` +
    `  ${(r.n / r.seconds).toFixed(2)} images/s wall (${r.seconds.toFixed(1)} s), ${(r.n / cpuSeconds).toFixed(2)} images/s per CPU-second\n`);
}
if (values.model) process.stdout.write(`  model ${path.resolve(values.model)}\n`);
