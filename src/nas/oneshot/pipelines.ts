import fs from 'node:fs';
import path from 'node:path';
import { createRng, KilnError, type Progress } from '../../core/index.js';
import { setSeed, type tf } from '../../backend/index.js';
import type { Splits } from '../../data/index.js';
import { mlp, saveModel, MODEL_FILE } from '../../nn/index.js';
import { exportOnnx } from '../../nn/onnx/index.js';
import { evaluate } from '../../train/index.js';
import type { Controller } from '../controllers/index.js';
import type { CostModel } from '../cost/index.js';
import { fitLatencyModel, loadLookupTable, measureLatency, saveLookupTable, type LatencyDevice } from '../latency/index.js';
import type { Evaluator } from '../evaluators.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import { sqliteStorage, type Storage, type Trial } from '../storage/index.js';
import { openStudy, type Study, type StudyConfig } from '../study.js';
import { bignasSupernet, bignasTrain, inheritedChild, largestChild, selectChild, smallestChild, type ChildSelection } from './bignas.js';
import type { Backbone } from './conv-space.js';
import { mlpWidths } from './mlp-supernet.js';
import { inputSide, splitsAtResolution } from './resize.js';
import { trainForSteps, trainStandalone } from './standalone.js';
import { supernetCosts } from './supernet.js';
import { tabnasSearch, type TabnasMode, type TabnasResult } from './tabnas.js';
import type { Quality } from './training.js';
import { freshTunasChild, randomSearchBaseline, tunasSearch, tunasSupernet, type TunasResult } from './tunas.js';

/**
 * The one-shot searches end to end, as `kiln oneshot` runs them: each keeps its supernet
 * checkpoint in `out` (running again resumes it) and its studies in `out`/studies.sqlite, every
 * trial stored as it ends: NAME (one trial per search step, or per scored child), NAME-final
 * (the found children, trained or scored as the paper does), and for TuNAS NAME-random (the
 * random-search baseline). Found models land in `out`/models/ARCH (tfjs and ONNX). Progress
 * goes to `progress` (one reporter per phase); aborting `signal` stops at the next step, keeping
 * what is done, and the same call resumes.
 */
export interface OneShotRunOptions {
  splits: Splits;
  /** Output folder: checkpoint, studies.sqlite, models. */
  out: string;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** A reporter per phase (core's createProgress fits). */
  progress?: (label: string, total: number) => Progress;
  signal?: AbortSignal;
}

export interface OneShotRun {
  /** The SQLite file holding the studies, and their names. */
  storage: string;
  studies: string[];
  /** The step the supernet checkpoint resumed at; null for a fresh run. */
  resumedFrom: number | null;
  /** True when the signal stopped the run; the same call resumes it. */
  stopped: boolean;
}

const STORAGE_FILE = 'studies.sqlite';

const modelDir = (out: string, arch: string) => path.join(out, 'models', arch);

/** Saves a found model for kiln explain / kiln attack: tfjs model.json + weights.bin, and model.onnx. */
async function saveFound(model: tf.LayersModel, dir: string): Promise<void> {
  await saveModel(model, dir);
  fs.writeFileSync(path.join(dir, 'model.onnx'), exportOnnx(model));
}

/** A controller that proposes what the caller hands it: found children and baselines chosen outside the study. */
function handedController(): Controller & { hand(a: Architecture): void } {
  let next: Architecture | undefined;
  return {
    name: 'given',
    hand: (a) => (next = a),
    ask() {
      if (!next) throw new KilnError('no architecture was handed to the study');
      const a = next;
      next = undefined;
      return a;
    },
    tell() {},
    state: () => ({}),
    restore() {},
  };
}

/** A study of children the pipeline picks itself; `record`/`score` store one trial each as it ends. */
function childStudy(storage: Storage, config: Omit<StudyConfig, 'controller'>, space: SearchSpace, evaluator: Evaluator, costs: readonly CostModel[]) {
  const controller = handedController();
  const study = openStudy({ study: { ...config, controller: controller.name }, storage, space, controller, evaluator, costs });
  const complete = () => new Map(study.trials().filter((t) => t.state === 'complete').map((t) => [t.arch, t]));
  return {
    study,
    /** Evaluates `a` unless a complete trial of it (and its saved model, with `out`) is stored already. */
    async score(a: Architecture, out?: string): Promise<Trial> {
      const key = space.toString(a);
      const stored = complete().get(key);
      if (stored && (!out || fs.existsSync(path.join(modelDir(out, key), MODEL_FILE)))) return stored;
      controller.hand(a);
      return study.trial();
    },
    /** Stores `a` with metrics measured elsewhere (children trained in worker threads). */
    record(a: Architecture, metrics: Record<string, number>): Trial {
      controller.hand(a);
      return study.tell(study.ask(), { ...Object.fromEntries(costs.map((m) => [m.name, m.cost(a)])), ...metrics });
    },
  };
}

/** Metadata of children a pipeline trains itself (the study records them; it never calls evaluate). */
function trainedElsewhere(metrics: string[]): Evaluator {
  return {
    name: 'standalone',
    metrics,
    evaluate: () => Promise.reject(new KilnError('these children are trained by the one-shot pipeline, not by the study')),
  };
}

/** The run's study storage, `out`/studies.sqlite (the folder is created). */
function openRunStorage(out: string): Storage {
  fs.mkdirSync(out, { recursive: true });
  return sqliteStorage(path.join(out, STORAGE_FILE));
}

/** Runs one phase of work under its own progress reporter. */
async function withProgress<T>(o: OneShotRunOptions, label: string, total: number, work: (update: (done: number, note?: string) => void) => Promise<T>): Promise<T> {
  const bar = o.progress?.(label, total);
  const result = await work((done, note) => bar?.update(done, note));
  bar?.done();
  return result;
}

export interface TabnasRunOptions extends OneShotRunOptions {
  layers: number;
  limit: number;
  mode: TabnasMode;
  beta: number;
  controllerLr: number;
  quality: Quality;
  /** Epochs of the found architecture's standalone training. */
  epochs: number;
}

export interface TabnasRun extends OneShotRun {
  search?: TabnasResult;
  /** The found child trained standalone (undefined when stopped). */
  final?: Trial;
}

/** TabNAS: the search (a study of its steps), then the pick trained standalone for `epochs` (NAME-final). */
export async function runTabnas(o: TabnasRunOptions): Promise<TabnasRun> {
  const storage = openRunStorage(o.out);
  try {
    const checkpointDir = path.join(o.out, 'checkpoint');
    const name = `tabnas-${o.mode}-seed${o.seed}`;
    setSeed(o.seed);
    const r = await withProgress(o, 'tabnas', o.steps, (update) => tabnasSearch({
      splits: o.splits, layers: o.layers, limit: o.limit, mode: o.mode, beta: o.beta, steps: o.steps, batchSize: o.batchSize, lr: o.lr,
      controllerLr: o.controllerLr, warmup: 0.25, quality: o.quality, seed: o.seed, checkpointDir, checkpointEvery: 50,
      onStep: (e) => update(e.step), signal: o.signal, storage, studyName: name,
    }));
    const costs = supernetCosts(r.supernet);
    r.supernet.dispose();
    const run = { storage: storage.uri, studies: [name], resumedFrom: r.search.resumedFrom, stopped: r.search.aborted, search: r };
    if (r.search.aborted) return run;
    const inputs = o.splits.train.shape[0];
    const classes = o.splits.train.classNames.length;
    const standalone: Evaluator = {
      name: 'standalone',
      metrics: ['val_accuracy', 'test_accuracy'],
      async evaluate(a) {
        const alone = await trainStandalone(() => mlp({ inputs, hidden: mlpWidths(r.space, a), outputs: classes }), o.splits,
          { epochs: o.epochs, batchSize: 32, lr: 3e-3, seed: o.seed });
        await saveFound(alone.model, modelDir(o.out, r.space.toString(a)));
        alone.model.dispose();
        return { val_accuracy: alone.valAccuracy, test_accuracy: alone.testAccuracy };
      },
    };
    const finals = childStudy(storage, {
      name: `${name}-final`, space: r.space.name, objective: 'val_accuracy', seed: o.seed, evaluator: standalone.name,
      constraints: o.mode === 'abs' ? [] : [`params<=${o.limit}`],
    }, r.space, standalone, costs);
    const final = await finals.score(r.pick, o.out);
    return { ...run, studies: [name, finals.study.spec.name], final };
  } finally {
    storage.close();
  }
}

export interface TunasRunOptions extends OneShotRunOptions {
  backbone: Backbone;
  /** The backbone's BACKBONES name, for worker threads. */
  backboneName: string;
  latencyTarget: number;
  device: LatencyDevice;
  latencySamples: number;
  statistic: 'median' | 'min';
  beta: number;
  controllerLr: number;
  warmup: number;
  standaloneSteps: number;
  /** Random-search baseline: children trained (steps + standaloneSteps) / random steps each; 0 for none. */
  random: number;
  /** Train the random children in worker threads that load the data themselves (dataset name, subsample, split seed). */
  parallel?: { workers: number; data: string; subsample?: number; splitSeed: number };
}

export interface TunasRun extends OneShotRun {
  latency: { entries: number; range: { min: number; max: number }; fitError: { mape: number; maxApe: number }; cost: CostModel };
  search?: TunasResult;
  final?: Trial;
  random?: { stepsEach: number; trials: Trial[]; best: Trial };
}

/**
 * TuNAS: a latency cost model on `device` (per-op lookup table cached in `out`, linear fit), the
 * search (a study of its steps), the pick trained from scratch for `standaloneSteps` and measured
 * (NAME-final), and optionally the random-search baseline at the same target (NAME-random).
 */
export async function runTunas(o: TunasRunOptions): Promise<TunasRun> {
  check3d(o.splits, 'tunas');
  const { shape, classNames } = o.splits.train;
  const storage = openRunStorage(o.out);
  try {
    const tableFile = path.join(o.out, `latency-table-${o.device.name}-${o.statistic}.json`);
    const probe = tunasSupernet(shape, classNames.length, o.backbone);
    const lat = await withProgress(o, `latency ${o.device.name}`, o.latencySamples, (update) => fitLatencyModel(probe.space, (a) => probe.child(a), o.device, {
      samples: o.latencySamples, seed: o.seed, table: loadLookupTable(tableFile), warmup: 3, repeats: 15, statistic: o.statistic,
      features: (a) => probe.latencyFeatures(a), onProgress: (d) => update(d),
    }));
    saveLookupTable(tableFile, lat.table);
    probe.dispose();
    const latency = { entries: Object.keys(lat.table).length, range: lat.range, fitError: lat.fitError, cost: lat.cost };

    const name = `tunas-seed${o.seed}-steps${o.steps}`;
    setSeed(o.seed);
    const r = await withProgress(o, 'tunas', o.steps, (update) => tunasSearch({
      splits: o.splits, backbone: o.backbone, latency: lat.cost, target: o.latencyTarget, beta: o.beta, steps: o.steps, batchSize: o.batchSize, lr: o.lr,
      controllerLr: o.controllerLr, warmup: o.warmup, quality: 'accuracy', seed: o.seed, checkpointDir: path.join(o.out, 'checkpoint'),
      checkpointEvery: 20, onStep: (e) => update(e.step), signal: o.signal, storage, studyName: name,
    }));
    const costs = [...supernetCosts(r.supernet), lat.cost];
    r.supernet.dispose();
    const run: TunasRun = { storage: storage.uri, studies: [name], resumedFrom: r.search.resumedFrom, stopped: r.search.aborted, latency, search: r };
    if (r.search.aborted) return run;

    const standalone: Evaluator = {
      name: 'standalone',
      metrics: ['val_accuracy', 'test_accuracy', 'measured_latency_ms'],
      async evaluate(a) {
        const alone = await trainForSteps(() => freshTunasChild(a, shape, classNames.length, o.backbone), o.splits,
          { steps: o.standaloneSteps, batchSize: o.batchSize, lr: o.lr, seed: o.seed });
        const measured = await measureLatency(alone.model, o.device.runtime, { batch: o.device.batch, warmup: 3, repeats: 15, statistic: o.statistic });
        await saveFound(alone.model, modelDir(o.out, r.space.toString(a)));
        alone.model.dispose();
        return { val_accuracy: alone.valAccuracy, test_accuracy: alone.testAccuracy, measured_latency_ms: measured, standalone_steps: alone.steps };
      },
    };
    const base = { space: r.space.name, objective: 'val_accuracy', seed: o.seed };
    const finals = childStudy(storage, { ...base, name: `${name}-final`, evaluator: standalone.name }, r.space, standalone, costs);
    run.final = await finals.score(r.pick, o.out);
    run.studies.push(finals.study.spec.name);
    if (o.random > 0) {
      run.random = await randomBaseline(o, storage, { ...base, name: `${name}-random`, evaluator: 'standalone' }, r.space, lat.cost, costs);
      run.studies.push(`${name}-random`);
    }
    return run;
  } finally {
    storage.close();
  }
}

function check3d(splits: Splits, search: string): void {
  if (splits.train.shape.length !== 3) throw new KilnError(`${search} needs images ([height, width, channels]); '${splits.train.name}' is tabular`);
}

/**
 * Random search at the latency target with the same training budget. Each child is a trial as
 * soon as it is trained; the children are drawn up front, so a study that already holds them all
 * is reported as it is, and a partial one is redone from the start.
 */
async function randomBaseline(o: TunasRunOptions, storage: Storage, config: Omit<StudyConfig, 'controller'>, space: SearchSpace, latency: CostModel,
  costs: readonly CostModel[]): Promise<NonNullable<TunasRun['random']>> {
  const stepsEach = Math.max(1, Math.round((o.steps + o.standaloneSteps) / o.random));
  const children = childStudy(storage, { ...config, controllerOptions: { count: o.random, stepsEach } },
    space, trainedElsewhere(['val_accuracy', 'test_accuracy']), costs);
  const study: Study = children.study;
  const stored = () => study.trials().filter((t) => t.state === 'complete');
  if (stored().length !== o.random) {
    study.rewind(0, 'discarded: the random baseline is redone as a whole');
    const parallel = o.parallel && o.parallel.workers > 1 ? { ...o.parallel, backbone: o.backboneName } : undefined;
    await withProgress(o, 'random baseline', o.random, async (update) => {
      let done = 0;
      await randomSearchBaseline({
        splits: o.splits, backbone: o.backbone, latency, target: o.latencyTarget, tolerance: 0.1, count: o.random, stepsEach, batchSize: o.batchSize,
        lr: o.lr, seed: o.seed, rng: createRng(o.seed + 11), parallel,
        onTrained: (t) => {
          children.record(t.arch, { val_accuracy: t.valAccuracy, test_accuracy: t.testAccuracy });
          update(++done);
        },
      });
    });
  }
  const trials = stored();
  return { stepsEach, trials, best: trials.reduce((p, q) => (q.value! > p.value! ? q : p)) };
}

export interface BignasRunOptions extends OneShotRunOptions {
  backbone: Backbone;
  /** MFLOPs limits; each gets its own selection study NAME-mflopsLIMIT. */
  limits: number[];
  weightDecay: number;
  coarse: number;
  fine: number;
}

export interface BignasRun extends OneShotRun {
  train: { steps: number; stepsPerSecond: number };
  /** Smallest and largest child with inherited weights (sanity of the sandwich training). */
  extremes: { arch: string; mflops: number; valAccuracy: number }[];
  /** Per limit: the selection, and the found child's final trial (inherited weights, test accuracy). */
  picks: { limit: number; selection: ChildSelection; final: Trial }[];
}

/**
 * BigNAS: the supernet trained once (sandwich rule, checkpointed), then per MFLOPs limit a
 * coarse-to-fine selection study scoring children with inherited weights, and the picks
 * (NAME-final) with their test accuracy, saved as models.
 */
export async function runBignas(o: BignasRunOptions): Promise<BignasRun> {
  check3d(o.splits, 'bignas');
  const storage = openRunStorage(o.out);
  setSeed(o.seed);
  const net = bignasSupernet(o.splits.train.shape, o.splits.train.classNames.length, o.backbone);
  try {
    const t = await withProgress(o, 'bignas', o.steps, (update) => bignasTrain({
      supernet: net, train: o.splits.train, steps: o.steps, batchSize: o.batchSize, lr: o.lr, weightDecay: o.weightDecay, randomChildren: 2,
      seed: o.seed, checkpointDir: path.join(o.out, 'checkpoint'), checkpointEvery: 20, onStep: (e) => update(e.step), signal: o.signal,
    }));
    const name = `bignas-seed${o.seed}-steps${o.steps}`;
    const run: BignasRun = {
      storage: storage.uri, studies: [], resumedFrom: t.resumedFrom, stopped: t.steps < o.steps, train: t, extremes: [], picks: [],
    };
    if (run.stopped) return run;
    for (const a of [smallestChild(net), largestChild(net)]) {
      const m = await inheritedChild(net, a, o.splits.train);
      const valAccuracy = (await evaluate(m, splitsAtResolution(o.splits, inputSide(m)).val)).accuracy;
      m.dispose();
      run.extremes.push({ arch: net.space.toString(a), mflops: net.costs(a).mflops, valAccuracy });
    }
    const costs = supernetCosts(net);
    const validation = new Map<string, number>();
    const inherited: Evaluator = {
      name: 'inherited-weights',
      metrics: ['val_accuracy', 'test_accuracy'],
      async evaluate(a) {
        const model = await inheritedChild(net, a, o.splits.train);
        const test = (await evaluate(model, splitsAtResolution(o.splits, inputSide(model)).test)).accuracy;
        await saveFound(model, modelDir(o.out, net.space.toString(a)));
        model.dispose();
        return { val_accuracy: validation.get(net.space.toString(a))!, test_accuracy: test };
      },
    };
    const finals = childStudy(storage, { name: `${name}-final`, space: net.space.name, objective: 'val_accuracy', seed: o.seed, evaluator: inherited.name },
      net.space, inherited, costs);
    for (const limit of o.limits) {
      const study = `${name}-mflops${limit}`;
      run.studies.push(study);
      const selection = await withProgress(o, `select mflops<=${limit}`, 1 + o.coarse + o.fine, (update) => {
        let scored = 0;
        return selectChild(net, o.splits, 'mflops', limit, {
          coarse: o.coarse, fine: o.fine, seed: o.seed, storage, study, signal: o.signal, onTrial: () => update(++scored),
        });
      });
      if (selection.stopped) return { ...run, stopped: true };
      validation.set(net.space.toString(selection.arch), selection.valAccuracy);
      run.picks.push({ limit, selection, final: await finals.score(selection.arch, o.out) });
    }
    run.studies.push(finals.study.spec.name);
    return run;
  } finally {
    net.dispose();
    storage.close();
  }
}
