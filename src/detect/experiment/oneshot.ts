import { barPlot, linePlot, type ReportDoc } from '../../report/index.js';
import { cocoGroundTruthOf } from '../data/coco-json.js';
import { COCO_STAT_NAMES, evaluateCoco } from '../eval/coco-eval.js';
import { classLossName } from '../ssd/loss.js';
import { runMobileDet, type MobileDetRunOptions } from '../ssd/pipeline.js';
import type { Detector } from '../ssd/detector.js';
import type { DetectionDeviceName } from './devices.js';

/**
 * `kiln oneshot mobiledet` as a library call: the MobileDets pipeline (latency model, TuNAS search,
 * standalone training of the pick, measured latency) followed by COCO evaluation of the pick on the
 * test split, summarised as plain JSON and as a small report.
 */
export interface MobileDetOneShotSummary {
  device: DetectionDeviceName;
  space: string;
  target: number;
  seed: number;
  arch: string;
  predictedLatency: number;
  measuredLatency: number;
  latencyModel: { device: string; fitMape: number; rangeMs: [number, number] };
  search: { steps: number; seconds: number; losses: number[] };
  train: { steps: number; seconds: number; finalLoss: number };
  /** The classification loss of the search and the training. */
  loss: string;
  params: number;
  testImages: number;
  /** COCOeval.stats order (COCO_STAT_NAMES). */
  stats: number[];
}

export interface MobileDetOneShot {
  summary: MobileDetOneShotSummary;
  /** The trained pick; absent when stopped (re-running with the same checkpoint folder resumes). */
  detector?: Detector;
  stopped: boolean;
}

export async function runMobileDetOneShot(o: MobileDetRunOptions & { deviceName: DetectionDeviceName }): Promise<MobileDetOneShot> {
  const run = await runMobileDet(o);
  const base = {
    device: o.deviceName, space: o.space.name, target: o.target, seed: o.seed, predictedLatency: run.predictedLatency,
    latencyModel: { device: run.latency.device.name, fitMape: run.latency.fitError.mape, rangeMs: [run.latency.range.min, run.latency.range.max] as [number, number] },
    search: { steps: run.search.steps, seconds: run.search.seconds, losses: run.search.losses }, loss: classLossName(o.loss),
    arch: o.space.toString(run.search.pick), testImages: o.splits.test.length,
  };
  if (!run.standalone) {
    return { stopped: true, summary: { ...base, measuredLatency: NaN, train: { steps: 0, seconds: 0, finalLoss: NaN }, params: 0, stats: [] } };
  }
  const s = run.standalone;
  const { stats } = evaluateCoco(cocoGroundTruthOf(o.splits.test, o.categories), s.detections);
  return {
    stopped: false, detector: s.detector,
    summary: {
      ...base, measuredLatency: s.measuredLatency, params: s.detector.model.countParams(), stats,
      train: { steps: s.training.steps, seconds: s.training.seconds, finalLoss: s.training.losses[s.training.losses.length - 1] ?? NaN },
    },
  };
}

const ms = (x: number) => `${x.toFixed(3)} ms`;

/** The report of one run: what was found, its COCO stats and latency, the supernet's loss curve. */
export function mobileDetOneShotReport(s: MobileDetOneShotSummary, extraFigures: { file: string; caption: string }[] = []): { doc: ReportDoc; figures: Record<string, string> } {
  const steps = s.search.losses.map((_, i) => i + 1);
  const figures = {
    'search-loss.svg': linePlot([{ name: 'supernet loss', x: steps, y: s.search.losses }], { title: 'TuNAS search: supernet training loss', xLabel: 'step', yLabel: 'loss' }),
    'latency.svg': barPlot([
      { label: 'target', values: [s.target] }, { label: 'predicted', values: [s.predictedLatency] }, { label: 'measured', values: [s.measuredLatency] },
    ], ['latency'], { title: `latency of the pick on ${s.latencyModel.device}`, xLabel: '', yLabel: 'ms' }),
  };
  const doc: ReportDoc = {
    title: `MobileDet search on ${s.device}: ${s.space}, target ${s.target} ms`,
    blocks: [
      { kind: 'text', text: `Found \`${s.arch}\` (${s.params} parameters). Predicted latency ${ms(s.predictedLatency)}, measured ${ms(s.measuredLatency)} ` +
        `on ${s.latencyModel.device} (target ${s.target} ms). Test AP ${s.stats[0]?.toFixed(3)} on ${s.testImages} images (COCO protocol).` },
      { kind: 'table', caption: 'COCO evaluation of the pick on the test split (-1: no ground truth of that size)', columns: ['metric', 'value'],
        rows: COCO_STAT_NAMES.map((n, i) => [n, s.stats[i]]) },
      { kind: 'table', caption: 'run', columns: ['part', 'steps', 'seconds', 'notes'], rows: [
        ['latency model', '-', '-', `linear fit MAPE ${(100 * s.latencyModel.fitMape).toFixed(1)}%, children ${s.latencyModel.rangeMs.map((x) => x.toFixed(3)).join('-')} ms`],
        ['search', s.search.steps, s.search.seconds.toFixed(1), 'supernet + controller (abs reward)'],
        ['standalone training', s.train.steps, s.train.seconds.toFixed(1), `${s.loss} loss; final ${s.train.finalLoss.toFixed(4)}`],
      ] },
      { kind: 'figure', file: 'search-loss.svg', caption: 'Supernet loss during the search (the first steps warm up with RL off).' },
      { kind: 'figure', file: 'latency.svg', caption: 'The pick\'s predicted (linear model) and measured latency against the target.' },
      ...extraFigures.map((f) => ({ kind: 'figure' as const, ...f })),
    ],
  };
  return { doc, figures };
}
