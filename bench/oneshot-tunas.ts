/**
 * TuNAS against random search at equal training compute, on Fashion-MNIST (MNIST when absent).
 * Latency: per-op lookup table on --device (default tfjs-wasm batch 32), linear model on per-op
 * features; the target is a quantile of the model's latency over random children.
 * Per seed: TuNAS search (S steps, RL off for the first 25%) + the pick trained standalone for T
 * steps, versus K random children within 10% of the target each trained (S + T) / K steps,
 * best on validation. Reports test accuracy, predicted and measured latency.
 * Run: node dist/bench/oneshot-tunas.js [--seeds 3] [--steps 240] [--standalone-steps 240] [--random 3]
 *      [--subsample 20000] [--device tfjs:32] [--statistic median|min] [--quantile 0.5] [--out bench-out/tunas]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../src/core/index.js';
import { mean, std } from '../src/math/index.js';
import { initBackend, setSeed } from '../src/backend/index.js';
import { freshTunasChild, randomSearchBaseline, trainForSteps, tunasSearch, tunasSupernet } from '../src/nas/oneshot/index.js';
import { fitLatencyModel, loadLookupTable, measureLatency, parseDevices, saveLookupTable } from '../src/nas/latency/index.js';
import { arg } from './args.js';
import { imageBenchSplits } from './data.js';

const SEEDS = Number(arg('--seeds', '3'));
const STEPS = Number(arg('--steps', '240'));
const STANDALONE = Number(arg('--standalone-steps', '240'));
const RANDOM = Number(arg('--random', '3'));
const SUBSAMPLE = Number(arg('--subsample', '20000'));
const DEVICE = parseDevices(arg('--device', 'tfjs:32'))[0];
const QUANTILE = Number(arg('--quantile', '0.5'));
const OUT = arg('--out', 'bench-out/tunas');
const TIMING = { warmup: 3, repeats: 15, statistic: arg('--statistic', 'median') as 'median' | 'min' };
const BATCH = 32;
const LR = 3e-3;

async function main(): Promise<void> {
  await initBackend(arg('--backend', '') || undefined);
  fs.mkdirSync(OUT, { recursive: true });
  const { name, splits } = imageBenchSplits(SUBSAMPLE);
  const { shape, classNames } = splits.train;

  const tableFile = path.join(OUT, `latency-table-${DEVICE.name}-${TIMING.statistic}.json`);
  setSeed(0);
  const probe = tunasSupernet(shape, classNames.length);
  const lat = await fitLatencyModel(probe.space, (a) => probe.child(a), DEVICE, {
    samples: 60, seed: 0, table: loadLookupTable(tableFile), ...TIMING, features: (a) => probe.latencyFeatures(a),
  });
  saveLookupTable(tableFile, lat.table);
  const rng = createRng(99);
  const pool = Array.from({ length: 2000 }, () => lat.cost.cost(probe.space.sample(rng))).sort((a, b) => a - b);
  const target = Number(pool[Math.floor(QUANTILE * pool.length)].toFixed(2));
  probe.dispose();
  console.log(`${name}: ${splits.train.y.length}/${splits.val.y.length}/${splits.test.y.length}; latency model ${DEVICE.name} fit MAPE ${(100 * lat.fitError.mape).toFixed(1)}%; target ${target} ms (q${QUANTILE})`);

  const stepsEach = Math.round((STEPS + STANDALONE) / RANDOM);
  const rows = ['| seed | method | architecture | predicted ms | measured ms | train steps | val acc | test acc | search steps/s | wall s |', '|---|---|---|---|---|---|---|---|---|---|'];
  const tunasTest: number[] = [];
  const randomTest: number[] = [];
  const records: unknown[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    setSeed(seed);
    const t0 = performance.now();
    const r = await tunasSearch({ splits, latency: lat.cost, target, beta: -0.1, steps: STEPS, batchSize: BATCH, lr: LR, controllerLr: 0.05, warmup: 0.25, quality: 'accuracy', seed });
    r.supernet.dispose();
    const alone = await trainForSteps(() => freshTunasChild(r.pick, shape, classNames.length), splits, { steps: STANDALONE, batchSize: BATCH, lr: LR, seed });
    const measured = await measureLatency(alone.model, DEVICE.runtime, { batch: DEVICE.batch, ...TIMING });
    alone.model.dispose();
    const tunasWall = (performance.now() - t0) / 1000;
    const arch = r.space.toString(r.pick);
    tunasTest.push(alone.testAccuracy);
    rows.push(`| ${seed} | TuNAS (${STEPS} search + ${alone.steps} standalone) | ${arch} | ${r.pickLatency.toFixed(2)} | ${measured.toFixed(2)} | ${STEPS}+${alone.steps} | ` +
      `${alone.valAccuracy.toFixed(4)} | ${alone.testAccuracy.toFixed(4)} | ${r.search.stepsPerSecond.toFixed(2)} | ${tunasWall.toFixed(0)} |`);
    console.log(rows[rows.length - 1]);
    records.push({ seed, method: 'tunas', arch, predicted: r.pickLatency, measured, val: alone.valAccuracy, test: alone.testAccuracy, stepsPerSecond: r.search.stepsPerSecond, wall: tunasWall, probs: r.probs });

    const t1 = performance.now();
    const base = await randomSearchBaseline({ splits, latency: lat.cost, target, tolerance: 0.1, count: RANDOM, stepsEach, batchSize: BATCH, lr: LR, seed, rng: createRng(seed + 11) });
    const best = base.best;
    const model = freshTunasChild(best.arch, shape, classNames.length);
    const bestMeasured = await measureLatency(model, DEVICE.runtime, { batch: DEVICE.batch, ...TIMING });
    model.dispose();
    const randomWall = (performance.now() - t1) / 1000;
    randomTest.push(best.testAccuracy);
    rows.push(`| ${seed} | random best of ${RANDOM} (${stepsEach} steps each) | ${r.space.toString(best.arch)} | ${best.latency.toFixed(2)} | ${bestMeasured.toFixed(2)} | ${RANDOM}x${stepsEach} | ` +
      `${best.valAccuracy.toFixed(4)} | ${best.testAccuracy.toFixed(4)} | - | ${randomWall.toFixed(0)} |`);
    console.log(rows[rows.length - 1]);
    records.push({ seed, method: 'random', trials: base.trials.map((t) => ({ ...t, arch: r.space.toString(t.arch) })), measured: bestMeasured, wall: randomWall });
  }
  const summary = `TuNAS test accuracy ${mean(tunasTest).toFixed(4)} +- ${std(tunasTest).toFixed(4)} vs random search ${mean(randomTest).toFixed(4)} +- ${std(randomTest).toFixed(4)} ` +
    `(${SEEDS} seeds, target ${target} ms on ${DEVICE.name})`;
  const md = `# TuNAS vs random search at equal training compute (${name}, ${SUBSAMPLE} examples)\n\n` +
    `Latency model: ${Object.keys(lat.table).length} per-op entries on ${DEVICE.name}, linear fit MAPE ${(100 * lat.fitError.mape).toFixed(1)}%; target ${target} ms\n\n` +
    `${rows.join('\n')}\n\n${summary}\n`;
  fs.writeFileSync(path.join(OUT, 'tunas.md'), md);
  fs.writeFileSync(path.join(OUT, 'tunas.json'), JSON.stringify({ target, device: DEVICE.name, records }, null, 1));
  console.log(md);
}

await main();
