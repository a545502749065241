/**
 * Supernet training speed on the chosen backend (--backend; default native where it loads), and the
 * two-core speed-up from worker threads.
 * A: median milliseconds per shared-weight step (batch 32, random child each step, after 3
 *    warm-up steps) of the MLP supernet (digits, 64 -> 2 x [8..512] -> 10), the TuNAS supernet
 *    (28x28x1, small and default backbones; with all warm-up paths on and off; plus the
 *    controller's 128-image validation forward) and the BigNAS sandwich step (4 children).
 * B: --jobs standalone trainings of random TuNAS children (--job-steps steps each) run one at a
 *    time in a worker, then two at a time in two workers; speed-up = wall(1) / wall(2).
 * Run: node dist/bench/oneshot-speed.js [--steps 12] [--jobs 4] [--job-steps 60] [--out bench-out/speed] [--backend native|wasm]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../src/core/index.js';
import { median } from '../src/math/index.js';
import { initBackend, nativeThreads, setSeed, tf } from '../src/backend/index.js';
import { datasets, fashionMnistDir, loadDataset, sample, splitDataset, type Splits } from '../src/data/index.js';
import { createOptimizer } from '../src/train/index.js';
import {
  BACKBONES, batchStream, bignasSupernet, bignasTrain, childQuality, mlpSupernet, mlpWidthSpace, runStandaloneJobs, supernetStep, tunasSupernet,
  type StandaloneJob, type Supernet,
} from '../src/nas/oneshot/index.js';
import { arg } from './args.js';

const STEPS = Number(arg('--steps', '12'));
const JOBS = Number(arg('--jobs', '4'));
const JOB_STEPS = Number(arg('--job-steps', '60'));
const OUT = arg('--out', 'bench-out/speed');
const BATCH = 32;

function timeSteps(net: Supernet, splits: Splits, keep: number): { trainMs: number; valMs: number } {
  const opt = createOptimizer('adam', { lr: 1e-3 });
  const stream = batchStream(splits.train, 1);
  const rng = createRng(1);
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < STEPS + 3; i++) {
    const a = net.space.sample(rng);
    const { x, y } = stream.next(BATCH);
    let t0 = performance.now();
    supernetStep(net, opt, a, x, y, { warmupKeep: keep, random: rng.next });
    if (i >= 3) train.push(performance.now() - t0);
    tf.dispose([x, y]);
    const v = stream.next(4 * BATCH);
    t0 = performance.now();
    childQuality(net, a, v.x, v.y, 'accuracy', { training: true });
    if (i >= 3) val.push(performance.now() - t0);
    tf.dispose([v.x, v.y]);
  }
  opt.dispose();
  return { trainMs: median(train), valMs: median(val) };
}

async function main(): Promise<void> {
  const backend = await initBackend(arg('--backend', '') || undefined);
  fs.mkdirSync(OUT, { recursive: true });
  const image = fs.existsSync(path.join(fashionMnistDir(), 'train-images-idx3-ubyte.gz')) && datasets.has('fashion-mnist') ? 'fashion-mnist' : 'mnist';
  const images = splitDataset(sample(loadDataset(image), 3000, 0), { seed: 0 });
  const digits = splitDataset(loadDataset('digits'), { seed: 0 });
  const rows = ['| supernet | step | ms/step (median) | steps/s |', '|---|---|---|---|'];
  const add = (name: string, step: string, ms: number) => {
    rows.push(`| ${name} | ${step} | ${ms.toFixed(1)} | ${(1000 / ms).toFixed(2)} |`);
    console.log(rows[rows.length - 1]);
  };
  setSeed(1);
  const mlp = mlpSupernet(mlpWidthSpace(2), 64, 10);
  const m = timeSteps(mlp, digits, 0);
  add('MLP mlp2 (64 -> 10)', 'train step, batch 32', m.trainMs);
  add('MLP mlp2 (64 -> 10)', 'controller val batch 128 (forward)', m.valMs);
  mlp.dispose();
  for (const name of ['small', 'default']) {
    const net = tunasSupernet([28, 28, 1], 10, BACKBONES[name]);
    const on = timeSteps(net, images, 1);
    add(`TuNAS ${name} backbone`, 'warm-up step, all paths on (keep 1)', on.trainMs);
    const off = timeSteps(net, images, 0);
    add(`TuNAS ${name} backbone`, 'train step, one child', off.trainMs);
    add(`TuNAS ${name} backbone`, 'controller val batch 128 (forward)', off.valMs);
    net.dispose();
  }
  const big = bignasSupernet([28, 28, 1], 10, BACKBONES.small);
  await bignasTrain({ supernet: big, train: images.train, steps: 2, batchSize: BATCH, lr: 1e-3, weightDecay: 1e-5, randomChildren: 2, seed: 1 });
  const b = await bignasTrain({ supernet: big, train: images.train, steps: STEPS, batchSize: BATCH, lr: 1e-3, weightDecay: 1e-5, randomChildren: 2, seed: 2 });
  add('BigNAS small backbone', 'sandwich step (largest + smallest + 2 random, distillation)', 1000 / b.stepsPerSecond);
  big.dispose();

  const space = tunasSupernet([28, 28, 1], 10).space;
  const rng = createRng(5);
  const jobs: StandaloneJob[] = Array.from({ length: JOBS }, (_, i) => ({
    data: image, subsample: 6000, splitSeed: 0, backbone: 'small', arch: space.toString(space.sample(rng)), steps: JOB_STEPS, batchSize: BATCH, lr: 3e-3, seed: i,
  }));
  const wall: Record<number, number> = {};
  const results: Record<number, number[]> = {};
  for (const workers of [1, 2]) {
    const t0 = performance.now();
    const r = await runStandaloneJobs(jobs, workers);
    wall[workers] = (performance.now() - t0) / 1000;
    results[workers] = r.map((x) => x.testAccuracy);
    console.log(`${workers} worker(s): ${wall[workers].toFixed(1)} s for ${JOBS} trainings of ${JOB_STEPS} steps; test acc ${results[workers].map((a) => a.toFixed(3)).join(' ')}`);
  }
  const same = results[1].every((a, i) => a === results[2][i]);
  const threads = backend === 'native' ? `${nativeThreads()} libtorch threads per process, shared out among workers` : 'one thread per process';
  const md = `# One-shot training speed on ${backend} (${threads})\n\n${rows.join('\n')}\n\n` +
    `Worker threads: ${JOBS} standalone trainings (random TuNAS children, small backbone, ${JOB_STEPS} steps of batch ${BATCH}) took ` +
    `${wall[1].toFixed(1)} s one at a time and ${wall[2].toFixed(1)} s two at a time: speed-up ${(wall[1] / wall[2]).toFixed(2)}x; ` +
    `results ${same ? 'identical' : 'NOT identical'} across the two runs${backend === 'native' && !same ? ' (native workers get fewer threads each when two run, and thread counts can change summation order)' : ''}.\n`;
  fs.writeFileSync(path.join(OUT, 'speed.md'), md);
  console.log(md);
}

await main();
