import { Command, Option } from 'commander';
import { KilnError, createProgress } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import { datasets, loadDataset, sample, searchSplits, type Splits } from '../../data/index.js';
import {
  BACKBONES, QUALITIES, runBignas, runTabnas, runTunas, TABNAS_MODES, type Backbone, type OneShotRun, type OneShotRunOptions, type Quality, type TabnasMode,
} from '../../nas/oneshot/index.js';
import { parseDevices } from '../../nas/latency/index.js';
import { backendOption, interruptSignal, intFlag, numberFlag } from '../flags.js';

/**
 * kiln oneshot tabnas|tunas|bignas: weight-sharing searches on real data (src/nas/oneshot/pipelines.ts).
 * Each run keeps a checkpoint in --out (re-running the same command resumes it), stores its
 * studies in --out/studies.sqlite trial by trial (kiln study list --storage sqlite:OUT/studies.sqlite),
 * and saves the found models (tfjs model.json + weights.bin, and ONNX) in --out/models/<arch>/
 * for kiln explain / kiln attack.
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
  return searchSplits(ds, seed);
}

/** Flags every one-shot search shares, parsed; Ctrl-C stops at the next step (the same command resumes). */
async function commonRun<R extends OneShotRun>(f: Common, run: (o: OneShotRunOptions) => Promise<R>): Promise<R> {
  await initBackend(f.backend);
  const seed = intFlag(f.seed, '--seed', 0);
  const steps = intFlag(f.steps, '--steps', 1);
  const batchSize = intFlag(f.batchSize, '--batch-size', 1);
  const lr = numberFlag(f.lr, '--lr', 0);
  const splits = prepare(f, seed);
  const stop = interruptSignal('stopping after the current step');
  try {
    const r = await run({ splits, out: f.out, steps, batchSize, lr, seed, signal: stop.signal, progress: (label, total) => createProgress({ label, total }) });
    if (r.resumedFrom !== null) console.log(`resumed from the checkpoint in ${f.out} at step ${r.resumedFrom}`);
    return r;
  } finally {
    stop.dispose();
  }
}

/** The last lines of every run: where the studies are, or how to resume a stopped one. */
function finish(r: OneShotRun): void {
  console.log(`studies ${r.studies.join(', ')} in ${r.storage} (kiln study list --storage ${r.storage})`);
  if (r.stopped) {
    process.stderr.write(`kiln: stopped; re-run the same command to resume\n`);
    process.exitCode = 130;
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

const fmt = (x: number | undefined, digits = 4) => (x === undefined ? '-' : x.toFixed(digits));

export function register(program: Command): void {
  const oneshot = program.command('oneshot').description('one-shot architecture search with weight sharing (TabNAS, TuNAS, BigNAS, MobileDets)');

  common(oneshot.command('tabnas').description('TabNAS: rejection-sampling REINFORCE over an MLP width supernet under a parameter limit'), '800')
    .requiredOption('--limit <params>', 'hard limit on trainable parameters')
    .option('--layers <n>', 'hidden layers (2-4)', '2')
    .addOption(new Option('--mode <mode>', 'rejection (MC-corrected), rejection-plain, or abs (reward-shaped)').choices([...TABNAS_MODES]).default('rejection'))
    .option('--beta <x>', 'abs mode: reward Q + beta*|params/limit - 1| (beta < 0)', '-0.1')
    .option('--controller-lr <x>', 'controller Adam learning rate', '0.05')
    .addOption(new Option('--quality <q>', 'reward quality on the validation batch').choices([...QUALITIES]).default('likelihood'))
    .option('--epochs <n>', 'epochs to train the found architecture standalone', '20')
    .action(async (f: Common & { limit: string; layers: string; mode: TabnasMode; beta: string; controllerLr: string; quality: Quality; epochs: string }) => {
      const limit = numberFlag(f.limit, '--limit', 1);
      const layers = intFlag(f.layers, '--layers', 1);
      const beta = numberFlag(f.beta, '--beta');
      const controllerLr = numberFlag(f.controllerLr, '--controller-lr', 0);
      const epochs = intFlag(f.epochs, '--epochs', 1);
      const r = await commonRun(f, (o) => runTabnas({ ...o, layers, limit, mode: f.mode, beta, controllerLr, quality: f.quality, epochs }));
      const s = r.search!;
      if (r.final) {
        const arch = s.space.toString(s.pick);
        console.log(`found ${arch} (${s.pickParams} params, limit ${f.limit}, ${s.pickFeasible ? 'feasible' : 'INFEASIBLE'}); P(feasible) under the final policy ${s.feasibleProbability.toFixed(2)}`);
        console.log(`trained standalone: val accuracy ${fmt(r.final.metrics.val_accuracy)}, test accuracy ${fmt(r.final.metrics.test_accuracy)}; search ${s.search.stepsPerSecond.toFixed(1)} steps/s`);
        console.log(`saved ${f.out}/models/${arch} (model.json, weights.bin, model.onnx)`);
      }
      finish(r);
    });

  common(oneshot.command('tunas').description('TuNAS: abs-reward REINFORCE over a MobileNet-like image supernet under a latency target'), '240')
    .requiredOption('--latency-target <ms>', 'latency target T0 in milliseconds on --device')
    .option('--device <runtime:batch>', 'where latency is measured: tfjs (the active backend), wasm (tfjs on wasm in a worker thread) or ort (onnxruntime-node) at a batch size', 'tfjs:32')
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
      const target = numberFlag(f.latencyTarget, '--latency-target', Number.MIN_VALUE);
      const devices = parseDevices(f.device);
      if (devices.length !== 1) throw new KilnError(`--device takes one RUNTIME:BATCH (got '${f.device}')`);
      const random = intFlag(f.random, '--random', 0);
      const workers = intFlag(f.workers, '--workers', 1);
      if (random > 0 && workers > 1 && !datasets.has(f.data)) throw new KilnError(`--workers needs a registered dataset name (workers load it themselves), not '${f.data}'`);
      const options = {
        backbone, backboneName: f.backbone, latencyTarget: target, device: devices[0], latencySamples: intFlag(f.latencySamples, '--latency-samples', 2),
        statistic: f.statistic, beta: numberFlag(f.beta, '--beta'), controllerLr: numberFlag(f.controllerLr, '--controller-lr', 0),
        warmup: numberFlag(f.warmup, '--warmup', 0), standaloneSteps: intFlag(f.standaloneSteps, '--standalone-steps', 1), random,
      };
      const subsample = f.subsample === undefined ? undefined : intFlag(f.subsample, '--subsample', 10);
      const r = await commonRun(f, (o) => runTunas({ ...o, ...options, parallel: { workers, data: f.data, subsample, splitSeed: o.seed } }));
      const { latency: lat } = r;
      console.log(`latency model on ${devices[0].name}: ${lat.entries} lookup entries, children ${lat.range.min.toFixed(2)}-${lat.range.max.toFixed(2)} ms, ` +
        `linear fit MAPE ${(100 * lat.fitError.mape).toFixed(1)}% (max ${(100 * lat.fitError.maxApe).toFixed(0)}%)`);
      if (target < lat.range.min || target > lat.range.max) console.log(`note: target ${target} ms is outside the sampled children's range`);
      if (r.final) {
        const s = r.search!;
        const arch = s.space.toString(s.pick);
        const m = r.final.metrics;
        console.log(`found ${arch}: predicted ${s.pickLatency.toFixed(2)} ms (target ${target}), measured ${fmt(m.measured_latency_ms, 2)} ms on ${devices[0].name}`);
        console.log(`trained standalone ${m.standalone_steps} steps: val accuracy ${fmt(m.val_accuracy)}, test accuracy ${fmt(m.test_accuracy)}; search ${s.search.stepsPerSecond.toFixed(2)} steps/s`);
        console.log(`saved ${f.out}/models/${arch} (model.json, weights.bin, model.onnx)`);
      }
      if (r.random) {
        for (const t of r.random.trials) {
          console.log(`random ${t.arch}: ${fmt(t.metrics[lat.cost.name], 2)} ms, val ${fmt(t.metrics.val_accuracy)}, test ${fmt(t.metrics.test_accuracy)} (${r.random.stepsEach} steps)`);
        }
        console.log(`random search (${random} x ${r.random.stepsEach} steps): best ${r.random.best.arch} test accuracy ${fmt(r.random.best.metrics.test_accuracy)} vs TuNAS ${fmt(r.final?.metrics.test_accuracy)}`);
      }
      finish(r);
    });

  common(oneshot.command('bignas').description('BigNAS: train an elastic image supernet once, then pick children under several MFLOPs limits without retraining'), '300')
    .requiredOption('--limit <mflops...>', 'one or more MFLOPs limits (e.g. --limit 0.5 1 2)')
    .option('--weight-decay <x>', 'L2 on the largest child only', '1e-5')
    .option('--coarse <n>', 'random feasible children scored per limit', '12')
    .option('--fine <n>', 'one-decision mutations tried from the best', '8')
    .option('--backbone <name>', `stage layout of the supernet (${Object.keys(BACKBONES).join(', ')})`, 'small')
    .action(async (f: Common & { limit: string[]; weightDecay: string; coarse: string; fine: string; backbone: string }) => {
      const backbone = backboneFlag(f.backbone);
      const limits = f.limit.map((l) => numberFlag(l, '--limit', 0));
      const options = { backbone, limits, weightDecay: numberFlag(f.weightDecay, '--weight-decay', 0), coarse: intFlag(f.coarse, '--coarse', 0), fine: intFlag(f.fine, '--fine', 0) };
      const r = await commonRun(f, (o) => runBignas({ ...o, ...options }));
      console.log(`supernet trained: ${r.train.steps} sandwich steps, ${r.train.stepsPerSecond.toFixed(3)} steps/s`);
      for (const e of r.extremes) console.log(`${e.arch}: ${e.mflops.toFixed(3)} MFLOPs, inherited val accuracy ${e.valAccuracy.toFixed(4)}`);
      for (const p of r.picks) {
        const arch = p.final.arch;
        console.log(`MFLOPs <= ${p.limit}: ${arch} (${p.selection.cost.toFixed(3)} MFLOPs, ${p.selection.evaluated} children scored) inherited val ` +
          `${p.selection.valAccuracy.toFixed(4)} test ${fmt(p.final.metrics.test_accuracy)} -> ${f.out}/models/${arch}`);
      }
      finish(r);
    });
}
