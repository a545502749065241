import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { KilnError, createProgress, createRng } from '../../core/index.js';
import { initBackend, setSeed } from '../../backend/index.js';
import { datasets, fitStandardizer, loadDataset, sample, splitDataset, standardize, type Splits } from '../../data/index.js';
import { mlp, saveModel } from '../../nn/index.js';
import { sqliteStorage, type Storage } from '../../nas/index.js';
import {
  bignasSupernet, bignasTrain, hasOneShotCheckpoint, inheritedChild, largestChild, mlpWidths, QUALITIES, selectChild, smallestChild,
  tabnasSearch, TABNAS_MODES, trainStandalone, type Quality, type TabnasMode,
  freshTunasChild, randomSearchBaseline, trainForSteps, tunasSearch, tunasSupernet, BACKBONES, inputSide, splitsAtResolution, type Backbone,
} from '../../nas/oneshot/index.js';
import { fitLatencyModel, loadLookupTable, measureLatency, parseDevices, saveLookupTable } from '../../nas/latency/index.js';
import { exportOnnx } from '../../nn/onnx/index.js';
import { evaluate } from '../../train/index.js';
import { backendOption, intFlag, numberFlag } from '../flags.js';

/**
 * kiln oneshot tabnas|bignas: weight-sharing searches on real data. Each run keeps a checkpoint
 * in --out (re-running the same command resumes it), stores its result as a study in
 * --out/studies.sqlite, and saves the found models (tfjs model.json + weights.bin, and ONNX) in
 * --out/models/<arch>/ for kiln explain / kiln attack.
 */

interface Common {
  data: string;
  target?: string;
  out: string;
  steps: string;
  batchSize: string;
  lr: string;
  seed: string;
  subsample?: string;
  backend?: string;
}

function prepare(flags: Common, seed: number): Splits {
  let ds = loadDataset(flags.data, { target: flags.target });
  if (flags.subsample !== undefined) ds = sample(ds, intFlag(flags.subsample, '--subsample', 10), seed);
  const sp = splitDataset(ds, { seed });
  if (sp.train.shape.length > 1) return sp;
  const s = fitStandardizer(sp.train);
  return { train: standardize(sp.train, s), val: standardize(sp.val, s), test: standardize(sp.test, s) };
}

async function saveFound(model: import('../../backend/index.js').tf.LayersModel, dir: string): Promise<string> {
  await saveModel(model, dir);
  fs.writeFileSync(path.join(dir, 'model.onnx'), exportOnnx(model));
  return dir;
}

function storeStudy(storage: Storage, name: string, space: string, constraint: string, controller: string, seed: number,
  trials: { arch: string; feasible: boolean; value: number; metrics: Record<string, number> }[]): void {
  if (storage.getStudy(name)) return; // a finished run re-run: its study is already stored
  storage.createStudy({ name, space, objective: 'val_accuracy', direction: 'max', constraints: [constraint], controller, controllerOptions: {}, evaluator: 'oneshot', seed });
  for (const t of trials) {
    const trial = storage.createTrial(name, t.arch);
    storage.finishTrial(name, trial.number, { state: 'complete', feasible: t.feasible, value: t.feasible ? t.value : null, metrics: t.metrics });
  }
}

function common(cmd: Command, steps: string): Command {
  return cmd
    .requiredOption('--data <name|file.csv>', 'dataset name (kiln train --help lists them) or a CSV file')
    .option('--target <column>', 'label column of a CSV file')
    .requiredOption('--out <dir>', 'output folder: checkpoint, studies.sqlite, found models')
    .option('--steps <n>', 'supernet training steps', steps)
    .option('--batch-size <n>', 'training batch size', '32')
    .option('--lr <x>', 'shared-weight Adam learning rate (cosine-decayed)', '0.003')
    .option('--seed <n>', 'seed of the split, the weights and the controller', '0')
    .option('--subsample <n>', 'use a seeded random subset of n examples (quick runs)')
    .addOption(backendOption());
}

function backboneFlag(name: string): Backbone {
  const b = BACKBONES[name];
  if (!b) throw new KilnError(`unknown --backbone '${name}' (known: ${Object.keys(BACKBONES).join(', ')})`);
  return b;
}

export function register(program: Command): void {
  const oneshot = program.command('oneshot').description('one-shot architecture search with weight sharing (TabNAS, TuNAS, BigNAS)');

  common(oneshot.command('tabnas').description('TabNAS: rejection-sampling REINFORCE over an MLP width supernet under a parameter limit'), '800')
    .requiredOption('--limit <params>', 'hard limit on trainable parameters')
    .option('--layers <n>', 'hidden layers (2-4)', '2')
    .addOption(new Option('--mode <mode>', 'rejection (MC-corrected), rejection-plain, or abs (reward-shaped)').choices([...TABNAS_MODES]).default('rejection'))
    .option('--beta <x>', 'abs mode: reward Q + beta*|params/limit - 1| (beta < 0)', '-0.1')
    .option('--controller-lr <x>', 'controller Adam learning rate', '0.05')
    .addOption(new Option('--quality <q>', 'reward quality on the validation batch').choices([...QUALITIES]).default('likelihood'))
    .option('--epochs <n>', 'epochs to train the found architecture standalone', '20')
    .action(async (f: Common & { limit: string; layers: string; mode: TabnasMode; beta: string; controllerLr: string; quality: Quality; epochs: string }) => {
      await initBackend(f.backend);
      const seed = intFlag(f.seed, '--seed', 0);
      const steps = intFlag(f.steps, '--steps', 1);
      const splits = prepare(f, seed);
      fs.mkdirSync(f.out, { recursive: true });
      const ckpt = path.join(f.out, 'checkpoint');
      if (hasOneShotCheckpoint(ckpt)) console.log(`resuming from ${ckpt}`);
      setSeed(seed);
      const bar = createProgress({ label: 'tabnas', total: steps });
      const r = await tabnasSearch({
        splits, layers: intFlag(f.layers, '--layers', 1), limit: numberFlag(f.limit, '--limit', 1), mode: f.mode, beta: numberFlag(f.beta, '--beta'),
        steps, batchSize: intFlag(f.batchSize, '--batch-size', 1), lr: numberFlag(f.lr, '--lr', 0), controllerLr: numberFlag(f.controllerLr, '--controller-lr', 0),
        warmup: 0.25, quality: f.quality, seed, checkpointDir: ckpt, checkpointEvery: 50, onStep: (e) => bar.update(e.step),
      });
      bar.done();
      const arch = r.space.toString(r.pick);
      const inputs = splits.train.shape[0];
      const classes = splits.train.classNames.length;
      const alone = await trainStandalone(() => mlp({ inputs, hidden: mlpWidths(r.space, r.pick), outputs: classes }), splits,
        { epochs: intFlag(f.epochs, '--epochs', 1), batchSize: 32, lr: 3e-3, seed });
      const dir = await saveFound(alone.model, path.join(f.out, 'models', arch));
      const storage = sqliteStorage(path.join(f.out, 'studies.sqlite'));
      storeStudy(storage, `tabnas-${f.mode}-seed${seed}`, r.space.name, `params<=${f.limit}`, f.mode === 'abs' ? 'reinforce' : 'tabnas', seed, [{
        arch, feasible: r.pickFeasible, value: alone.valAccuracy,
        metrics: { params: r.pickParams, val_accuracy: alone.valAccuracy, test_accuracy: alone.testAccuracy, p_feasible: r.feasibleProbability, steps_per_second: r.search.stepsPerSecond },
      }]);
      storage.close();
      r.supernet.dispose();
      console.log(`found ${arch} (${r.pickParams} params, limit ${f.limit}, ${r.pickFeasible ? 'feasible' : 'INFEASIBLE'}); P(feasible) under the final policy ${r.feasibleProbability.toFixed(2)}`);
      console.log(`trained standalone: val accuracy ${alone.valAccuracy.toFixed(4)}, test accuracy ${alone.testAccuracy.toFixed(4)}; search ${r.search.stepsPerSecond.toFixed(1)} steps/s`);
      console.log(`saved ${dir} (model.json, weights.bin, model.onnx); study in ${path.join(f.out, 'studies.sqlite')}`);
    });

  common(oneshot.command('tunas').description('TuNAS: abs-reward REINFORCE over a MobileNet-like image supernet under a latency target'), '240')
    .requiredOption('--latency-target <ms>', 'latency target T0 in milliseconds on --device')
    .option('--device <runtime:batch>', 'where latency is measured: tfjs (wasm) or ort (onnxruntime-node) at a batch size', 'tfjs:32')
    .option('--latency-samples <n>', 'random children whose per-op lookup-table latency fits the linear cost model', '60')
    .addOption(new Option('--statistic <s>', 'summary of 15 timed runs: median, or min (robust on a loaded machine)').choices(['median', 'min']).default('median'))
    .option('--beta <x>', 'abs reward Q + beta*|T/T0 - 1| (beta < 0)', '-0.1')
    .option('--controller-lr <x>', 'controller Adam learning rate', '0.05')
    .option('--warmup <fraction>', 'fraction of steps with RL off while shared weights warm up (path dropout)', '0.25')
    .option('--standalone-steps <n>', 'training steps of the found architecture from scratch', '240')
    .option('--random <k>', 'also run random search at the target: k children trained (steps + standalone-steps)/k steps each', '0')
    .option('--workers <n>', 'worker threads training the random children side by side (2 uses both cores)', '1')
    .option('--backbone <name>', `stage layout of the supernet (${Object.keys(BACKBONES).join(', ')}; small: 8/16/24 channels, 28x28 -> 4x4)`, 'small')
    .action(async (f: Common & { latencyTarget: string; device: string; latencySamples: string; beta: string; controllerLr: string;
      warmup: string; standaloneSteps: string; random: string; workers: string; backbone: string; statistic: 'median' | 'min' }) => {
      const backbone = backboneFlag(f.backbone);
      await initBackend(f.backend);
      const seed = intFlag(f.seed, '--seed', 0);
      const steps = intFlag(f.steps, '--steps', 1);
      const batchSize = intFlag(f.batchSize, '--batch-size', 1);
      const lr = numberFlag(f.lr, '--lr', 0);
      const target = numberFlag(f.latencyTarget, '--latency-target', Number.MIN_VALUE);
      const standaloneSteps = intFlag(f.standaloneSteps, '--standalone-steps', 1);
      const randomCount = intFlag(f.random, '--random', 0);
      const devices = parseDevices(f.device);
      if (devices.length !== 1) throw new KilnError(`--device takes one RUNTIME:BATCH (got '${f.device}')`);
      const device = devices[0];
      const splits = prepare(f, seed);
      if (splits.train.shape.length !== 3) throw new KilnError(`tunas needs images ([height, width, channels]); '${f.data}' is tabular`);
      const { shape, classNames } = splits.train;
      fs.mkdirSync(f.out, { recursive: true });

      // Latency: per-op lookup table (cached in --out), then the linear model over per-op features.
      const tableFile = path.join(f.out, `latency-table-${device.name}-${f.statistic}.json`);
      const probe = tunasSupernet(shape, classNames.length, backbone);
      const lbar = createProgress({ label: `latency ${device.name}`, total: intFlag(f.latencySamples, '--latency-samples', 2) });
      const lat = await fitLatencyModel(probe.space, (a) => probe.child(a), device, {
        samples: intFlag(f.latencySamples, '--latency-samples', 2), seed, table: loadLookupTable(tableFile), warmup: 3, repeats: 15, statistic: f.statistic,
        features: (a) => probe.latencyFeatures(a), onProgress: (d) => lbar.update(d),
      });
      lbar.done();
      saveLookupTable(tableFile, lat.table);
      probe.dispose();
      console.log(`latency model on ${device.name}: ${Object.keys(lat.table).length} lookup entries, children ${lat.range.min.toFixed(2)}-${lat.range.max.toFixed(2)} ms, ` +
        `linear fit MAPE ${(100 * lat.fitError.mape).toFixed(1)}% (max ${(100 * lat.fitError.maxApe).toFixed(0)}%)`);
      if (target < lat.range.min || target > lat.range.max) console.log(`note: target ${target} ms is outside the sampled children's range`);

      const ckpt = path.join(f.out, 'checkpoint');
      if (hasOneShotCheckpoint(ckpt)) console.log(`resuming from ${ckpt}`);
      setSeed(seed);
      const bar = createProgress({ label: 'tunas', total: steps });
      const r = await tunasSearch({
        splits, backbone, latency: lat.cost, target, beta: numberFlag(f.beta, '--beta'), steps, batchSize, lr, controllerLr: numberFlag(f.controllerLr, '--controller-lr', 0),
        warmup: numberFlag(f.warmup, '--warmup', 0), quality: 'accuracy', seed, checkpointDir: ckpt, checkpointEvery: 20, onStep: (e) => bar.update(e.step),
      });
      bar.done();
      r.supernet.dispose();
      const arch = r.space.toString(r.pick);
      const alone = await trainForSteps(() => freshTunasChild(r.pick, shape, classNames.length, backbone), splits, { steps: standaloneSteps, batchSize, lr, seed });
      const measured = await measureLatency(alone.model, device.runtime, { batch: device.batch, warmup: 3, repeats: 15, statistic: f.statistic });
      const dir = await saveFound(alone.model, path.join(f.out, 'models', arch));
      alone.model.dispose();
      const trials: Parameters<typeof storeStudy>[6] = [{
        arch, feasible: true, value: alone.valAccuracy,
        metrics: { [lat.cost.name]: r.pickLatency, measured_latency_ms: measured, val_accuracy: alone.valAccuracy, test_accuracy: alone.testAccuracy, steps_per_second: r.search.stepsPerSecond },
      }];
      console.log(`found ${arch}: predicted ${r.pickLatency.toFixed(2)} ms (target ${target}), measured ${measured.toFixed(2)} ms on ${device.name}`);
      console.log(`trained standalone ${alone.steps} steps: val accuracy ${alone.valAccuracy.toFixed(4)}, test accuracy ${alone.testAccuracy.toFixed(4)}; search ${r.search.stepsPerSecond.toFixed(2)} steps/s`);
      console.log(`saved ${dir} (model.json, weights.bin, model.onnx)`);
      if (randomCount > 0) {
        const stepsEach = Math.max(1, Math.round((steps + standaloneSteps) / randomCount));
        const workers = intFlag(f.workers, '--workers', 1);
        if (workers > 1 && !datasets.has(f.data)) throw new KilnError(`--workers needs a registered dataset name (workers load it themselves), not '${f.data}'`);
        const parallel = workers > 1 ? { workers, data: f.data, subsample: f.subsample === undefined ? undefined : intFlag(f.subsample, '--subsample', 10), splitSeed: seed, backbone: f.backbone } : undefined;
        const base = await randomSearchBaseline({ splits, backbone, latency: lat.cost, target, tolerance: 0.1, count: randomCount, stepsEach, batchSize, lr, seed, rng: createRng(seed + 11), parallel,
          onTrained: (t) => console.log(`random ${r.space.toString(t.arch)}: ${t.latency.toFixed(2)} ms, val ${t.valAccuracy.toFixed(4)}, test ${t.testAccuracy.toFixed(4)} (${stepsEach} steps)`) });
        for (const t of base.trials) {
          trials.push({ arch: r.space.toString(t.arch), feasible: true, value: t.valAccuracy,
            metrics: { [lat.cost.name]: t.latency, val_accuracy: t.valAccuracy, test_accuracy: t.testAccuracy, random_baseline: 1 } });
        }
        console.log(`random search (${randomCount} x ${stepsEach} steps): best ${r.space.toString(base.best.arch)} test accuracy ${base.best.testAccuracy.toFixed(4)} vs TuNAS ${alone.testAccuracy.toFixed(4)}`);
      }
      const storage = sqliteStorage(path.join(f.out, 'studies.sqlite'));
      storeStudy(storage, `tunas-seed${seed}-steps${steps}`, r.space.name, `${lat.cost.name}~${target}`, 'reinforce-abs', seed, trials);
      storage.close();
      console.log(`study in ${path.join(f.out, 'studies.sqlite')}`);
    });

  common(oneshot.command('bignas').description('BigNAS: train an elastic image supernet once, then pick children under several MFLOPs limits without retraining'), '300')
    .requiredOption('--limit <mflops...>', 'one or more MFLOPs limits (e.g. --limit 0.5 1 2)')
    .option('--weight-decay <x>', 'L2 on the largest child only', '1e-5')
    .option('--coarse <n>', 'random feasible children scored per limit', '12')
    .option('--fine <n>', 'one-decision mutations tried from the best', '8')
    .option('--backbone <name>', `stage layout of the supernet (${Object.keys(BACKBONES).join(', ')})`, 'small')
    .action(async (f: Common & { limit: string[]; weightDecay: string; coarse: string; fine: string; backbone: string }) => {
      const backbone = backboneFlag(f.backbone);
      await initBackend(f.backend);
      const seed = intFlag(f.seed, '--seed', 0);
      const steps = intFlag(f.steps, '--steps', 1);
      const splits = prepare(f, seed);
      if (splits.train.shape.length !== 3) throw new KilnError(`bignas needs images ([height, width, channels]); '${f.data}' is tabular`);
      const limits = f.limit.map((l) => numberFlag(l, '--limit', 0));
      fs.mkdirSync(f.out, { recursive: true });
      setSeed(seed);
      const net = bignasSupernet(splits.train.shape, splits.train.classNames.length, backbone);
      const bar = createProgress({ label: 'bignas', total: steps });
      const t = await bignasTrain({ supernet: net, train: splits.train, steps, batchSize: intFlag(f.batchSize, '--batch-size', 1), lr: numberFlag(f.lr, '--lr', 0),
        weightDecay: numberFlag(f.weightDecay, '--weight-decay', 0), randomChildren: 2, seed, checkpointDir: path.join(f.out, 'checkpoint'), checkpointEvery: 20,
        onStep: (e) => bar.update(e.step) });
      bar.done();
      console.log(`supernet trained: ${t.steps} sandwich steps, ${t.stepsPerSecond.toFixed(3)} steps/s${t.resumedFrom !== null ? ` (resumed at ${t.resumedFrom})` : ''}`);
      const trials: Parameters<typeof storeStudy>[6] = [];
      for (const a of [smallestChild(net), largestChild(net)]) {
        const m = await inheritedChild(net, a, splits.train);
        console.log(`${net.space.toString(a)}: ${net.costs(a).mflops.toFixed(3)} MFLOPs, inherited val accuracy ${(await evaluate(m, splitsAtResolution(splits, inputSide(m)).val)).accuracy.toFixed(4)}`);
        m.dispose();
      }
      for (const limit of limits) {
        const s = await selectChild(net, splits, 'mflops', limit, { coarse: intFlag(f.coarse, '--coarse', 0), fine: intFlag(f.fine, '--fine', 0), seed });
        const arch = net.space.toString(s.arch);
        const model = await inheritedChild(net, s.arch, splits.train);
        const test = (await evaluate(model, splitsAtResolution(splits, inputSide(model)).test)).accuracy;
        const dir = await saveFound(model, path.join(f.out, 'models', arch));
        model.dispose();
        trials.push({ arch, feasible: true, value: s.valAccuracy, metrics: { ...net.costs(s.arch), val_accuracy: s.valAccuracy, test_accuracy: test, limit } });
        console.log(`MFLOPs <= ${limit}: ${arch} (${s.cost.toFixed(3)} MFLOPs, ${s.evaluated} children scored) inherited val ${s.valAccuracy.toFixed(4)} test ${test.toFixed(4)} -> ${dir}`);
      }
      const storage = sqliteStorage(path.join(f.out, 'studies.sqlite'));
      storeStudy(storage, `bignas-seed${seed}-steps${steps}`, net.space.name, `mflops<=${Math.max(...limits)}`, 'coarse-to-fine', seed, trials);
      storage.close();
      net.dispose();
    });
}
