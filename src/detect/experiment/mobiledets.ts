import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { check, KilnError, readJsonFile } from '../../core/index.js';
import { writeAtomic } from '../../nn/index.js';
import { meanCI } from '../../math/index.js';
import { measureLatency, type LatencyCostModel } from '../../nas/latency/index.js';
import { scatterPlot, type ReportDoc } from '../../report/index.js';
import { cocoGroundTruthOf } from '../data/coco-json.js';
import { evaluateCoco } from '../eval/coco-eval.js';
import { FILTER_MULTIPLIERS, mobileDetSpace, type DetLayout, type SpaceVariant } from '../space/space.js';
import { referenceArchitecture, REFERENCE_ARCHITECTURES } from '../space/reference.js';
import { buildDetector } from '../ssd/detector.js';
import { runMobileDet, trainStandaloneDetector } from '../ssd/pipeline.js';
import { detectorLatencyModel } from '../ssd/search.js';
import type { Category, DetectionSplits } from '../types.js';
import { classLossName, type SsdLossOptions } from '../ssd/loss.js';
import type { DetectionDevice } from './devices.js';

/**
 * The MobileDets experiment at Kiln's scale (Xiong et al. 2021, "MobileDets: Searching for Object
 * Detection Architectures for Mobile Accelerators"): on one device, TuNAS searches of the IBN-only
 * and the full space (IBN, fused IBN, Tucker) at each latency target, each pick trained from
 * scratch; and the MobileNetV2/V3-like SSDLite baselines at the filter multiplier whose measured
 * latency is nearest the full-space picks' mean measured latency at that target. Every cell is run
 * for every seed; mAP (COCO AP@[.5:.95]) on the test split is reported with 95% t-intervals over
 * seeds. Finished cells are stored in `out/cells` and searches checkpoint in `out/checkpoints`, so
 * re-running resumes; `out/settings.json` records everything a cell depends on besides its target
 * and seed, and a re-run with other settings is refused (more targets or seeds extend the run).
 */
export interface MobileDetsExperimentOptions {
  device: DetectionDevice;
  splits: DetectionSplits;
  categories: readonly Category[];
  inputShape: [number, number, number];
  layout: DetLayout;
  targets: number[];
  seeds: number[];
  latencySamples: number;
  search: { steps: number; batchSize: number; lr: number; warmup: number; beta: number; controllerLr: number };
  train: { steps: number; batchSize: number; lr: number };
  /** Training loss of every supernet and model (default: focal). */
  loss?: SsdLossOptions;
  out: string;
  signal?: AbortSignal;
  onCell?: (done: number, total: number, label: string) => void;
}

/** One trained model of the experiment. */
export interface MobileDetsCell {
  /** `mobiledet-ibn`, `mobiledet` (searched) or `mobilenetv2`, `mobilenetv3` (baselines). */
  method: string;
  target: number;
  seed: number;
  arch: string;
  /** Baselines: the filter multiplier chosen to match the latency. */
  multiplier?: number;
  predictedLatency?: number;
  measuredLatency: number;
  /** COCOeval.stats of the test split. */
  stats: number[];
  trainSeconds: number;
}

export interface MobileDetsGroup {
  method: string;
  target: number;
  ap: { mean: number; half: number; n: number };
  ap50: { mean: number; half: number; n: number };
  latency: { mean: number; half: number; n: number };
}

export interface MobileDetsExperiment {
  device: string;
  cells: MobileDetsCell[];
  groups: MobileDetsGroup[];
  /** Measured latency of each baseline at each filter multiplier (ms), what matching chose from. */
  baselineLatency: { method: string; multiplier: number; latency: number }[];
  latencyModels: { space: string; fitMape: number; range: [number, number] }[];
  stopped: boolean;
}

export const SEARCHED = ['mobiledet-ibn', 'mobiledet'] as const;
const VARIANT: Record<string, SpaceVariant> = { 'mobiledet-ibn': 'ibn', mobiledet: 'full' };

/** Prefix of the files beside the cells that keep each space's latency model. */
const LATENCY_MODEL = 'latency-model_';

function cellFile(out: string, method: string, target: number, seed: number): string {
  return path.join(out, 'cells', `${method}_t${target}_s${seed}.json`);
}

function stored(file: string): MobileDetsCell | undefined {
  if (!fs.existsSync(file)) return undefined;
  const cell = readJsonFile(file, 'finished experiment cell') as Partial<MobileDetsCell>;
  if (typeof cell?.method !== 'string' || !Number.isFinite(cell.measuredLatency) || !Array.isArray(cell.stats) || cell.stats.length !== 12) {
    throw new KilnError(`finished experiment cell ${file} is not one (method, measuredLatency, twelve stats); delete it to run that cell again`);
  }
  return cell as MobileDetsCell;
}

function store(file: string, cell: MobileDetsCell): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeAtomic(file, JSON.stringify(cell));
}

export function groupCells(cells: readonly MobileDetsCell[]): MobileDetsGroup[] {
  const keys = [...new Set(cells.map((c) => `${c.method}|${c.target}`))];
  return keys.map((k) => {
    const cs = cells.filter((c) => `${c.method}|${c.target}` === k);
    return {
      method: cs[0].method, target: cs[0].target,
      ap: meanCI(cs.map((c) => c.stats[0])), ap50: meanCI(cs.map((c) => c.stats[1])), latency: meanCI(cs.map((c) => c.measuredLatency)),
    };
  });
}

/** SHA-256 of every image's size, pixels, boxes and categories, split by split: the data a cell was trained and scored on. */
function splitsFingerprint(splits: DetectionSplits): string {
  const h = crypto.createHash('sha256');
  for (const name of ['train', 'val', 'test'] as const) {
    h.update(`${name}:${splits[name].length};`);
    for (const im of splits[name]) {
      h.update(JSON.stringify([im.width, im.height, im.boxes, im.categoryIds]));
      h.update(new Uint8Array(im.pixels.buffer, im.pixels.byteOffset, im.pixels.byteLength));
    }
  }
  return h.digest('hex');
}

/** What every cell depends on besides its target and seed. */
function experimentSettings(o: MobileDetsExperimentOptions): Record<string, unknown> {
  return {
    device: o.device.latency.name, layout: o.layout, inputShape: o.inputShape, categories: o.categories.map((c) => c.id),
    latencySamples: o.latencySamples, search: o.search, train: o.train, loss: classLossName(o.loss), data: splitsFingerprint(o.splits),
  };
}

/** Records the settings in out/settings.json, or checks a re-run against them and its finished cells (before any work). */
function checkSettings(o: MobileDetsExperimentOptions): void {
  const file = path.join(o.out, 'settings.json');
  const now = experimentSettings(o);
  if (!fs.existsSync(file)) {
    check(!fs.existsSync(path.join(o.out, 'cells')), `${o.out} holds finished cells but no settings.json (an older run): use another --out`);
    fs.mkdirSync(o.out, { recursive: true });
    writeAtomic(file, JSON.stringify(now, null, 2));
    return;
  }
  const before = readJsonFile(file, 'experiment settings') as Record<string, unknown>;
  const differ = Object.keys(now).filter((k) => JSON.stringify(before?.[k]) !== JSON.stringify(now[k]));
  if (differ.length > 0) {
    const shown = differ.map((k) => k === 'data' ? 'the data' : `${k} ${JSON.stringify(before?.[k])} -> ${JSON.stringify(now[k])}`).join(', ');
    throw new KilnError(`${o.out} holds a run with other settings (${shown}); use another --out, or the same settings to resume`);
  }
  const cells = path.join(o.out, 'cells');
  if (fs.existsSync(cells)) for (const f of fs.readdirSync(cells)) if (f.endsWith('.json') && !f.startsWith(LATENCY_MODEL)) stored(path.join(cells, f));
}

export async function runMobileDetsExperiment(o: MobileDetsExperimentOptions): Promise<MobileDetsExperiment> {
  check(o.targets.length > 0 && o.targets.every((t) => t > 0), 'the experiment needs one or more positive latency targets');
  check(o.seeds.length > 0, 'the experiment needs one or more seeds');
  check(o.splits.val.length > 0 && o.splits.test.length > 0, 'the experiment needs validation and test images');
  checkSettings(o);
  const gt = cocoGroundTruthOf(o.splits.test, o.categories);
  const total = (SEARCHED.length + REFERENCE_ARCHITECTURES.length) * o.targets.length * o.seeds.length;
  const cells: MobileDetsCell[] = [];
  const progress = (label: string) => o.onCell?.(cells.length, total, label);
  const common = { splits: o.splits, categories: o.categories, inputShape: o.inputShape, device: o.device.latency, loss: o.loss, signal: o.signal };
  const latencyModels: MobileDetsExperiment['latencyModels'] = [];
  const result = (stopped: boolean, baselineLatency: MobileDetsExperiment['baselineLatency'] = []): MobileDetsExperiment =>
    ({ device: o.device.latency.name, cells, groups: groupCells(cells), baselineLatency, latencyModels, stopped });

  for (const method of SEARCHED) {
    const space = mobileDetSpace(VARIANT[method], o.layout);
    let model: LatencyCostModel | undefined;
    for (const target of o.targets) {
      for (const seed of o.seeds) {
        const file = cellFile(o.out, method, target, seed);
        const done = stored(file);
        if (done) {
          cells.push(done);
          continue;
        }
        progress(`${method} target ${target} seed ${seed}`);
        model ??= await detectorLatencyModel(space, o.device.latency, {
          inputShape: o.inputShape, categories: o.categories, samples: o.latencySamples, seed: 0, statistic: 'min', fitTo: 'measured',
        });
        const run = await runMobileDet({
          ...common, space, target, seed, latencySamples: o.latencySamples, latencyModel: model, search: o.search, train: o.train,
          checkpointDir: path.join(o.out, 'checkpoints', `${method}_t${target}_s${seed}`),
        });
        if (run.stopped || !run.standalone) return result(true);
        const s = run.standalone;
        const cell: MobileDetsCell = {
          method, target, seed, arch: space.toString(run.search.pick), predictedLatency: run.predictedLatency, measuredLatency: s.measuredLatency,
          stats: evaluateCoco(gt, s.detections).stats, trainSeconds: s.training.seconds,
        };
        s.detector.model.dispose();
        store(file, cell);
        cells.push(cell);
      }
    }
    // Kept beside the cells, so a resumed run that fits nothing still reports the model its searches used.
    const modelFile = path.join(o.out, 'cells', `${LATENCY_MODEL}${method}.json`);
    if (model) writeAtomic(modelFile, JSON.stringify({ space: space.name, fitMape: model.fitError.mape, range: [model.range.min, model.range.max] }));
    if (fs.existsSync(modelFile)) latencyModels.push(readJsonFile(modelFile, 'latency model summary') as MobileDetsExperiment['latencyModels'][number]);
  }

  // Baselines at matched measured latency: the multiplier nearest the full-space picks' mean at each target.
  const space = mobileDetSpace('full', o.layout);
  const baselineLatency: MobileDetsExperiment['baselineLatency'] = [];
  for (const method of REFERENCE_ARCHITECTURES) {
    for (const multiplier of FILTER_MULTIPLIERS) {
      const d = buildDetector({ space, arch: referenceArchitecture(space, method, multiplier), inputShape: o.inputShape, categories: [...o.categories] });
      const latency = await measureLatency(d.model, o.device.latency.runtime, { batch: o.device.latency.batch, warmup: 3, repeats: 20, statistic: 'min' });
      d.model.dispose();
      baselineLatency.push({ method, multiplier, latency });
    }
  }
  for (const method of REFERENCE_ARCHITECTURES) {
    for (const target of o.targets) {
      const picks = cells.filter((c) => c.method === 'mobiledet' && c.target === target).map((c) => c.measuredLatency);
      const goal = picks.reduce((a, b) => a + b, 0) / picks.length;
      const options = baselineLatency.filter((b) => b.method === method);
      const nearest = options.reduce((best, b) => (Math.abs(b.latency - goal) < Math.abs(best.latency - goal) ? b : best));
      for (const seed of o.seeds) {
        const file = cellFile(o.out, method, target, seed);
        const done = stored(file);
        if (done) {
          cells.push(done);
          continue;
        }
        // Two targets may match the same width: that model is already trained for this seed (training is deterministic).
        const same = cells.find((c) => c.method === method && c.seed === seed && c.multiplier === nearest.multiplier);
        if (same) {
          const cell = { ...same, target };
          store(file, cell);
          cells.push(cell);
          continue;
        }
        progress(`${method} x${nearest.multiplier} target ${target} seed ${seed}`);
        const arch = referenceArchitecture(space, method, nearest.multiplier);
        const s = await trainStandaloneDetector({ ...common, space, arch, seed, ...o.train });
        if (s.training.aborted) return result(true, baselineLatency);
        const cell: MobileDetsCell = {
          method, target, seed, arch: space.toString(arch), multiplier: nearest.multiplier, measuredLatency: s.measuredLatency,
          stats: evaluateCoco(gt, s.detections).stats, trainSeconds: s.training.seconds,
        };
        s.detector.model.dispose();
        store(file, cell);
        cells.push(cell);
      }
    }
  }
  o.onCell?.(cells.length, total, 'done');
  return result(false, baselineLatency);
}

const ci = (x: { mean: number; half: number }, digits = 3) => `${x.mean.toFixed(digits)} ± ${Number.isFinite(x.half) ? x.half.toFixed(digits) : 'n/a'}`;

interface Comparison {
  target: number;
  full: MobileDetsGroup;
  other: MobileDetsGroup;
}

/** The full space against the IBN-only space and each baseline, at every target. */
function comparisons(groups: readonly MobileDetsGroup[]): Comparison[] {
  const at = (method: string, target: number) => groups.find((g) => g.method === method && g.target === target);
  return [...new Set(groups.map((g) => g.target))].flatMap((target) => {
    const full = at('mobiledet', target);
    if (!full) return [];
    return ['mobiledet-ibn', ...REFERENCE_ARCHITECTURES].flatMap((m) => {
      const other = at(m, target);
      return other ? [{ target, full, other }] : [];
    });
  });
}

type Outcome = 'holds' | 'fails' | 'open';

function outcome(c: Comparison): Outcome {
  const diff = c.full.ap.mean - c.other.ap.mean;
  const apart = Number.isFinite(c.full.ap.half) && Number.isFinite(c.other.ap.half) && Math.abs(diff) > c.full.ap.half + c.other.ap.half;
  return !apart ? 'open' : diff > 0 ? 'holds' : 'fails';
}

/** Plain sentences on the paper's two claims at each target, judged by whether the 95% intervals separate. */
export function mobileDetsVerdicts(groups: readonly MobileDetsGroup[]): string[] {
  return comparisons(groups).map((c) => {
    const diff = c.full.ap.mean - c.other.ap.mean;
    const against = c.other.method === 'mobiledet-ibn'
      ? `full space (${ci(c.full.latency)} ms) vs IBN-only space (${ci(c.other.latency)} ms)`
      : `full space vs ${c.other.method}-like SSDLite at ${ci(c.other.latency)} ms`;
    const o = outcome(c);
    const verdict = o === 'open' ? `no clear difference (${diff >= 0 ? '+' : ''}${diff.toFixed(3)} AP, the 95% intervals overlap)`
      : o === 'holds' ? `better by ${diff.toFixed(3)} AP (intervals apart): holds` : `worse by ${(-diff).toFixed(3)} AP (intervals apart): does not hold`;
    return `Target ${c.target} ms: ${against}: ${verdict}.`;
  });
}

/** One sentence over all comparisons: how many hold, how many do not, how many the intervals leave open, and which way the means lean. */
export function mobileDetsConclusion(groups: readonly MobileDetsGroup[]): string {
  const cs = comparisons(groups);
  const outcomes = cs.map(outcome);
  const holds = outcomes.filter((o) => o === 'holds').length;
  const fails = outcomes.filter((o) => o === 'fails').length;
  const higher = cs.filter((c) => c.full.ap.mean > c.other.ap.mean).length;
  const verdict = holds === cs.length ? 'The paper\'s claim holds here in every comparison.'
    : holds > 0 ? 'The paper\'s claim holds here only in part.'
      : fails > 0 ? 'The paper\'s claim does not hold here: where the intervals separate, the full space loses.'
        : 'This run cannot confirm the paper\'s claim: no comparison separates the 95% intervals.';
  return `**${verdict}** Of ${cs.length} comparisons of the full space (against the IBN-only space and the baselines, per target), ` +
    `${holds} favour it with the intervals apart, ${fails} favour the other side with the intervals apart, and ${cs.length - holds - fails} are within the intervals; ` +
    `its mean AP is the higher one in ${higher} of ${cs.length}.`;
}

export interface MobileDetsScale {
  data: string;
  trainImages: number;
  testImages: number;
  layout: string;
  searchSteps: number;
  trainSteps: number;
  batch: number;
  /** The classification loss every model trained with. */
  loss: string;
  seconds: number;
}

/** The experiment's report: the verdicts, a table per method and target, and mAP against measured latency. */
export function mobileDetsReport(e: MobileDetsExperiment, scale: MobileDetsScale): { doc: ReportDoc; figures: Record<string, string> } {
  const methods = [...new Set(e.groups.map((g) => g.method))];
  const figures = {
    'map-vs-latency.svg': scatterPlot(methods.map((m) => {
      const cs = e.cells.filter((c) => c.method === m);
      return { name: m, x: cs.map((c) => c.measuredLatency), y: cs.map((c) => c.stats[0]), radius: 4 };
    }), { title: `test mAP vs measured latency on ${e.device}`, xLabel: `latency on ${e.device} (ms, batch 1)`, yLabel: 'COCO AP@[.5:.95]', width: 720, height: 440 }),
  };
  const doc: ReportDoc = {
    title: `MobileDets at Kiln's scale on ${e.device}`,
    blocks: [
      { kind: 'text', text: `Scale: ${scale.data}, ${scale.trainImages} training and ${scale.testImages} test images at 64x64, layout \`${scale.layout}\`; ` +
        `searches of ${scale.searchSteps} supernet steps, standalone trainings of ${scale.trainSteps} steps at batch ${scale.batch}, ${scale.loss} loss; ` +
        `${new Set(e.cells.map((c) => c.seed)).size} seeds; ${(scale.seconds / 60).toFixed(1)} minutes on a shared 2-core machine. ` +
        'The paper trains on COCO for hundreds of thousands of steps and measures phones, an EdgeTPU and a DSP; this run is orders of magnitude smaller, ' +
        'so it tests the direction of the claim, not its size.' },
      { kind: 'heading', text: 'Does the paper\'s claim hold here?' },
      { kind: 'text', text: mobileDetsConclusion(e.groups) },
      ...mobileDetsVerdicts(e.groups).map((text) => ({ kind: 'text' as const, text })),
      { kind: 'figure', file: 'map-vs-latency.svg', caption: 'Test mAP against measured latency of every trained model (each seed and target); means with intervals in the table below.' },
      { kind: 'table', caption: 'mean ± 95% interval (t) over seeds', columns: ['method', 'target ms', 'measured ms', 'AP', 'AP50', 'seeds'],
        rows: e.groups.map((g) => [g.method, g.target, ci(g.latency), ci(g.ap), ci(g.ap50), g.ap.n]) },
      { kind: 'table', caption: 'every trained model', columns: ['method', 'target ms', 'seed', 'architecture', 'predicted ms', 'measured ms', 'AP', 'train s'],
        rows: e.cells.map((c) => [c.method, c.target, c.seed, c.multiplier !== undefined ? `x${c.multiplier}` : c.arch,
          c.predictedLatency === undefined ? '-' : c.predictedLatency.toFixed(3), c.measuredLatency.toFixed(3), c.stats[0], c.trainSeconds.toFixed(0)]) },
      { kind: 'table', caption: 'baselines: measured latency at each filter multiplier (matching picks the one nearest the full-space picks)',
        columns: ['baseline', 'multiplier', 'measured ms'], rows: e.baselineLatency.map((b) => [b.method, b.multiplier, b.latency.toFixed(3)]) },
      { kind: 'table', caption: 'latency models (linear, fitted to measured children)', columns: ['space', 'fit MAPE', 'children ms'],
        rows: e.latencyModels.map((m) => [m.space, `${(100 * m.fitMape).toFixed(1)}%`, m.range.map((x) => x.toFixed(3)).join('-')]) },
    ],
  };
  return { doc, figures };
}
