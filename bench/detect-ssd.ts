/**
 * SSDLite over the MobileDet space at 64x64 (default layout, 4 categories) on the chosen backend:
 * A: per model (the MobileNetV2/V3-like references and random children of the full space):
 *    backbone params and MMACs, ms per standalone training step (batch 16, after 3 warm-up steps),
 *    and latency of one image on tfjs (the active backend) and onnxruntime-node.
 * B: ms per supernet step (batch 16, a random child each step) and per controller
 *    validation forward (64 images), for the full and the IBN-only space.
 * C: the latency cost model of the full space on each of --devices (default tfjs:1,ort:1): per-op
 *    lookup tables and the linear model fitted (--fit-to lookup|measured) on --samples children, against whole-model
 *    measurements of --held-out other random children (mean and worst absolute percentage error).
 * D: TuNAS searches (--search-steps, batch 8, warm-up 25%, beta --beta) of the IBN-only and the full
 *    space on ort_b1 at each of --targets ms (latency model fitted to --samples measured children),
 *    on 64x64 images of 1-3 squares: the pick's predicted and measured latency against the target.
 * Run: KILN_THREADS=1 node dist/bench/detect-ssd.js [--steps 8] [--random 2] [--samples 12] [--held-out 8]
 *      [--devices tfjs:1,ort:1] [--fit-to lookup|measured] [--search-steps 120] [--targets 0.25,0.4] [--beta -0.5]
 *      [--parts A,B,C,D] [--backend native|wasm]
 */
import { createRng } from '../src/core/index.js';
import { backendInfo, initBackend, setSeed, tf } from '../src/backend/index.js';
import type { Architecture } from '../src/nas/index.js';
import { latencyDevice, measureLatency, parseDevices, predictionError } from '../src/nas/latency/index.js';
import { onnxRuntimeAvailable } from '../src/nn/index.js';
import { createOptimizer } from '../src/train/index.js';
import { mobileDetCosts, mobileDetPlan, mobileDetSpace, referenceArchitecture, REFERENCE_ARCHITECTURES } from '../src/detect/space/index.js';
import {
  buildDetector, detectionBatches, detectorLatencyModel, detSupernet, disposeBatch, mobileDetSearch, ssdLoss,
} from '../src/detect/ssd/index.js';
import type { DetectionImage } from '../src/detect/types.js';
import { arg } from './args.js';

const STEPS = Number(arg('--steps', '8'));
const RANDOM = Number(arg('--random', '2'));
const SAMPLES = Number(arg('--samples', '12'));
const HELD_OUT = Number(arg('--held-out', '8'));
const PARTS = arg('--parts', 'A,B,C').split(',');
const SEARCH_STEPS = Number(arg('--search-steps', '120'));
const TARGETS = arg('--targets', '0.25,0.4').split(',').map(Number);
const BETA = Number(arg('--beta', '-0.5'));
const FIT_TO = arg('--fit-to', 'lookup') === 'measured' ? 'measured' : 'lookup';
const BATCH = 16;
const SIDE = 64;
const categories = [1, 2, 3, 4].map((id) => ({ id, name: `c${id}` }));

/**
 * Times are minima over the repeats: on a shared, loaded machine other processes only ever add
 * time, so the minimum estimates the uncontended figure better than the median.
 */
/** Random boxes on noise: step time does not depend on what the images show. */
function images(n: number): DetectionImage[] {
  const rng = createRng(1);
  return Array.from({ length: n }, (_, i) => {
    const boxes = Array.from({ length: 3 }, () => {
      const s = 6 + rng.int(20);
      return [rng.int(SIDE - s), rng.int(SIDE - s), s, s] as [number, number, number, number];
    });
    return { id: i + 1, width: SIDE, height: SIDE, pixels: Float32Array.from({ length: SIDE * SIDE * 3 }, () => rng.next()), boxes, categoryIds: boxes.map(() => 1 + rng.int(4)) };
  });
}

function timed(steps: number, run: (i: number) => void): number {
  const ms: number[] = [];
  for (let i = 0; i < steps + 3; i++) {
    const t0 = performance.now();
    run(i);
    if (i >= 3) ms.push(performance.now() - t0);
  }
  return Math.min(...ms);
}

async function main(): Promise<void> {
  await initBackend(arg('--backend', '') || undefined);
  const info = backendInfo();
  console.log(`backend ${info.active}${info.active === 'native' && info.native.available ? `, ${info.native.threads} threads` : ''}`);
  const data = images(64);
  const ort = await onnxRuntimeAvailable();
  if (PARTS.includes('A')) await partA(data, ort);
  if (PARTS.includes('B')) partB(data);
  if (PARTS.includes('C')) await partC(ort);
  if (PARTS.includes('D') && ort) await partD();
}

async function partA(data: DetectionImage[], ort: boolean): Promise<void> {
  const full = mobileDetSpace('full');
  const rng = createRng(7);
  const models: [string, Architecture][] = [
    ...REFERENCE_ARCHITECTURES.map((r) => [r, referenceArchitecture(full, r)] as [string, Architecture]),
    ...Array.from({ length: RANDOM }, (_, i) => [`random ${i + 1}`, full.sample(rng)] as [string, Architecture]),
  ];
  console.log('| model | architecture | params | MMACs | train ms/step | tfjs_b1 ms | ort_b1 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, a] of models) {
    setSeed(1);
    const d = buildDetector({ space: full, arch: a, inputShape: [SIDE, SIDE, 3], categories });
    const batches = detectionBatches({ anchors: d.anchors, categories, inputShape: [SIDE, SIDE, 3] }, data, { threshold: 0.5, flip: true });
    const opt = createOptimizer('adam', { lr: 1e-3 });
    const vars = d.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = timed(STEPS, (i) => {
      const b = batches(createRng(i), BATCH);
      const loss = opt.minimize(() => ssdLoss(d.model.apply(b.x, { training: true }) as tf.Tensor3D, b).total, true, vars)!;
      loss.dataSync();
      loss.dispose();
      disposeBatch(b);
    });
    opt.dispose();
    const tfjs = await measureLatency(d.model, 'tfjs', { batch: 1, warmup: 5, repeats: 60, statistic: 'min' });
    const onnx = ort ? (await measureLatency(d.model, 'ort', { batch: 1, warmup: 5, repeats: 60, statistic: 'min' })).toFixed(2) : 'n/a';
    const plan = mobileDetPlan(full, a);
    const c = mobileDetCosts(plan, SIDE);
    console.log(`| ${name} | \`${full.toString(a)}\` | ${d.model.countParams()} | ${c.mmacs.toFixed(2)} | ${step.toFixed(1)} | ${tfjs.toFixed(2)} | ${onnx} |`);
    d.model.dispose();
  }
}

function partB(data: DetectionImage[]): void {
  console.log('\n| supernet | ms/step (batch 16) | validation forward ms (64 images) |');
  console.log('|---|---|---|');
  for (const variant of ['full', 'ibn'] as const) {
    setSeed(1);
    const space = mobileDetSpace(variant);
    const net = detSupernet({ space, inputShape: [SIDE, SIDE, 3], categories });
    const batches = detectionBatches(net, data, { threshold: 0.5, flip: true });
    const opt = createOptimizer('adam', { lr: 1e-3 });
    const r = createRng(3);
    const step = timed(STEPS, (i) => {
      const b = batches(createRng(i), BATCH);
      const a = space.sample(r);
      const loss = opt.minimize(() => ssdLoss(net.forward(b.x, a), b).total, true, net.variables)!;
      loss.dataSync();
      loss.dispose();
      disposeBatch(b);
    });
    const val = timed(STEPS, (i) => {
      const b = batches(createRng(100 + i), 4 * BATCH);
      const l = tf.tidy(() => ssdLoss(net.forward(b.x, space.sample(r)), b).total);
      l.dataSync();
      l.dispose();
      disposeBatch(b);
    });
    opt.dispose();
    net.dispose();
    console.log(`| ${space.name} | ${step.toFixed(1)} | ${val.toFixed(1)} |`);
  }
}

async function partC(ort: boolean): Promise<void> {
  const space = mobileDetSpace('full');
  console.log('\n| device | fitted on | table entries | fit MAPE | held-out MAPE | held-out worst | measured range ms | seconds |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const device of parseDevices(arg('--devices', 'tfjs:1,ort:1'))) {
    if (device.runtime === 'ort' && !ort) continue;
    const t0 = performance.now();
    const m = await detectorLatencyModel(space, device, { inputShape: [SIDE, SIDE, 3], categories, samples: SAMPLES, seed: 1, statistic: 'min', fitTo: FIT_TO });
    const rng = createRng(99);
    const predicted: number[] = [];
    const measured: number[] = [];
    for (let i = 0; i < HELD_OUT; i++) {
      const a = space.sample(rng);
      const d = buildDetector({ space, arch: a, inputShape: [SIDE, SIDE, 3], categories });
      predicted.push(m.cost.cost(a));
      measured.push(await measureLatency(d.model, device.runtime, { batch: device.batch, warmup: 5, repeats: 30, statistic: 'min' }));
      d.model.dispose();
    }
    const e = predictionError(predicted, measured);
    const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
    console.log(`| ${device.name} | ${SAMPLES} children, ${FIT_TO} | ${Object.keys(m.table).length} | ${pct(m.fitError.mape)} | ${pct(e.mape)} | ${pct(e.maxApe)} | ` +
      `${Math.min(...measured).toFixed(2)}-${Math.max(...measured).toFixed(2)} | ${((performance.now() - t0) / 1000).toFixed(0)} |`);
  }
}

await main();

/** 64x64 scenes of 1-3 squares of 4 colours (the category), on dark noise. */
function squareScenes(n: number, seed: number): DetectionImage[] {
  const rng = createRng(seed);
  const colours = [[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [0.9, 0.9, 0.1]];
  return Array.from({ length: n }, (_, i) => {
    const pixels = Float32Array.from({ length: SIDE * SIDE * 3 }, () => rng.next() * 0.15);
    const boxes: [number, number, number, number][] = [];
    const categoryIds: number[] = [];
    for (let k = 1 + rng.int(3); k > 0; k--) {
      const s = 8 + rng.int(20);
      const [x, y, c] = [rng.int(SIDE - s), rng.int(SIDE - s), rng.int(4)];
      for (let r = y; r < y + s; r++) for (let q = x; q < x + s; q++) pixels.set(colours[c], (r * SIDE + q) * 3);
      boxes.push([x, y, s, s]);
      categoryIds.push(c + 1);
    }
    return { id: i + 1, width: SIDE, height: SIDE, pixels, boxes, categoryIds };
  });
}

async function partD(): Promise<void> {
  const device = latencyDevice('ort', 1);
  const train = squareScenes(256, 1);
  const val = squareScenes(64, 2);
  console.log('\n| space | target ms | pick | predicted ms | measured ms | search s |');
  console.log('|---|---|---|---|---|---|');
  for (const variant of ['ibn', 'full'] as const) {
    const space = mobileDetSpace(variant);
    const m = await detectorLatencyModel(space, device, { inputShape: [SIDE, SIDE, 3], categories, samples: SAMPLES, seed: 1, statistic: 'min', fitTo: 'measured' });
    for (const target of TARGETS) {
      setSeed(1);
      const net = detSupernet({ space, inputShape: [SIDE, SIDE, 3], categories });
      const r = await mobileDetSearch({
        supernet: net, train, val, latency: m.cost, target, beta: BETA, controllerLr: 0.05, steps: SEARCH_STEPS, batchSize: 8, lr: 0.01, warmup: 0.25, seed: 1,
      });
      net.dispose();
      const d = buildDetector({ space, arch: r.pick, inputShape: [SIDE, SIDE, 3], categories });
      const measured = await measureLatency(d.model, 'ort', { batch: 1, warmup: 5, repeats: 30, statistic: 'min' });
      d.model.dispose();
      console.log(`| ${space.name} | ${target} | \`${space.toString(r.pick)}\` | ${r.pickLatency.toFixed(3)} | ${measured.toFixed(3)} | ${r.seconds.toFixed(0)} |`);
    }
  }
}
