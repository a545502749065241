import { KilnError, createRegistry, type OptionSpec } from '../core/index.js';
import { mean } from '../math/index.js';
import { type DualEncoder, resolveDualEncoder } from './dual.js';
import { type FrameExtractor, type VideoExtractor, i3dFrames, resolveFrameExtractor, resolveVideoExtractor } from './features.js';
import { columnMean, frechetFromFeatures } from '../math/index.js';
import { ITEM_BOOTSTRAPS, type Interval, itemInterval, moments, resampledFrechet } from './intervals.js';
import type { Frames } from '../media/index.js';
import { splitByPrompt } from './generators.js';

/**
 * Automatic metrics, as the reference computes them (google/storybench metrics/): each metric is
 * computed once per sample index s (the s-th of the S videos generated per item) and reported as
 * mean and standard deviation over the S values (np.std, i.e. population std). Kiln adds a 95%
 * bootstrap interval over items (intervals.ts): how much the figure depends on which stories were drawn.
 */

/** One item as metrics see it: S generated samples, the ground truth, segments and prompts. */
export interface MetricItem {
  name: string;
  samples: Frames[];
  groundTruth: Frames | null;
  frames: number[];
  texts: string[];
}

export interface MetricScore {
  perSample: number[];
  mean: number;
  std: number;
  /** 95% percentile bootstrap interval over items of the mean over samples (NaN with under 2 items). */
  low?: number;
  high?: number;
  /** Per-item value (mean over samples) for metrics defined per item; used to compare with people. */
  perItem?: Record<string, number>;
  /** Why the metric has no value for this run, when it could not be computed. */
  note?: string;
}

/**
 * A metric in progress: takes one item at a time, then gives the score.
 *
 * @inline
 */
export interface Accumulator {
  add(item: MetricItem): Promise<void>;
  finish(): MetricScore;
}

export interface Metric {
  name: string;
  better: 'lower' | 'higher';
  needsGroundTruth: boolean;
  /** The options of `MetricEnvOptions` the metric reads, with their defaults. */
  options: readonly OptionSpec[];
  start(env: MetricEnv): Promise<Accumulator>;
}

export interface MetricEnvOptions {
  /** Frame feature extractor for fid/sim: a registered name or an ONNX path. */
  frameFeatures?: string;
  /** Video feature extractor for fvd: a registered name or an ONNX path. */
  videoFeatures?: string;
  /** Dual encoder for vtm: a registered name or IMAGE.onnx,TEXT.onnx. */
  dualEncoder?: string;
  /** Item resamples behind each 95% interval (0: no intervals). */
  bootstraps?: number;
}

export const FRAME_FEATURES_OPTION: OptionSpec = {
  name: 'frameFeatures', type: 'string', default: 'kiln-judge', description: 'per-frame features: a registered frame extractor or an ONNX file',
};
export const VIDEO_FEATURES_OPTION: OptionSpec = {
  name: 'videoFeatures', type: 'string', default: 'kiln-judge', description: 'per-clip features: a registered video extractor or an ONNX file',
};
export const DUAL_ENCODER_OPTION: OptionSpec = {
  name: 'dualEncoder', type: 'string', default: 'kiln-dual', description: 'video-text encoder: a registered dual encoder or IMAGE.onnx,TEXT.onnx',
};
export const BOOTSTRAPS_OPTION: OptionSpec = {
  name: 'bootstraps', type: 'integer', default: ITEM_BOOTSTRAPS, min: 0,
  description: 'item resamples behind each 95% interval (0: no intervals; a Frechet distance is recomputed for each)',
};
const defaultOf = (spec: OptionSpec) => String(spec.default);

/** Lazily loaded models, with frame features memoised per clip so fid and sim share them. */
export class MetricEnv {
  private frame?: Promise<FrameExtractor>;
  private video?: Promise<VideoExtractor>;
  private dual?: Promise<DualEncoder>;
  private cache = new WeakMap<Frames, Promise<Float64Array[]>>();
  constructor(readonly options: MetricEnvOptions = {}) {}

  frameFeatures(f: Frames): Promise<Float64Array[]> {
    let hit = this.cache.get(f);
    if (!hit) {
      this.frame ??= resolveFrameExtractor(this.options.frameFeatures ?? defaultOf(FRAME_FEATURES_OPTION));
      hit = this.frame.then((x) => x.embedFrames(f));
      this.cache.set(f, hit);
    }
    return hit;
  }
  /**
   * Clip features of an item: one row for the whole clip, resampled as the reference does for I3D;
   * or, for an extractor trained on single-action clips, one row per prompt's segment as it is.
   */
  async videoFeatures(f: Frames, framesPerPrompt: readonly number[]): Promise<Float64Array[]> {
    this.video ??= resolveVideoExtractor(this.options.videoFeatures ?? defaultOf(VIDEO_FEATURES_OPTION));
    const extractor = await this.video;
    if (extractor.perSegment) return Promise.all(splitByPrompt(f, framesPerPrompt).map((seg) => extractor.embedVideo(seg)));
    return [await extractor.embedVideo(i3dFrames(f))];
  }
  /** The 95% interval over items of `statistic` (given how often each item is drawn), or none when bootstraps is 0. */
  interval(items: number, statistic: (counts: Float64Array) => number): Interval | undefined {
    const boots = this.options.bootstraps ?? ITEM_BOOTSTRAPS;
    return boots > 0 ? itemInterval(items, statistic, boots) : undefined;
  }
  dualEncoder(): Promise<DualEncoder> {
    this.dual ??= resolveDualEncoder(this.options.dualEncoder ?? defaultOf(DUAL_ENCODER_OPTION));
    return this.dual;
  }
  describe(): Record<string, string | number> {
    return {
      frameFeatures: this.options.frameFeatures ?? defaultOf(FRAME_FEATURES_OPTION),
      videoFeatures: this.options.videoFeatures ?? defaultOf(VIDEO_FEATURES_OPTION),
      dualEncoder: this.options.dualEncoder ?? defaultOf(DUAL_ENCODER_OPTION),
      bootstraps: this.options.bootstraps ?? ITEM_BOOTSTRAPS,
    };
  }
}

export function summarizeScores(perSample: number[], perItem?: Record<string, number>, interval?: Interval): MetricScore {
  const m = mean(perSample);
  const std = Math.sqrt(mean(perSample.map((v) => (v - m) ** 2)));
  return { perSample, mean: m, std, ...(interval ?? {}), ...(perItem ? { perItem } : {}) };
}

/**
 * Scores summed per item (cosines of its frames or segments, one total per sample) and how many were
 * summed: the figure is 100 x all totals over all counts, averaged over samples; its interval resamples items.
 */
function itemSums(env: MetricEnv) {
  const perItem: Record<string, number> = {};
  const totals: number[][] = [];
  const counts: number[] = [];
  return {
    add(name: string, sampleTotals: number[], count: number) {
      totals.push(sampleTotals);
      counts.push(count);
      perItem[name] = mean(sampleTotals.map((t) => (100 * t) / count));
    },
    finish(): MetricScore {
      const figure = (draw: Float64Array) => {
        const den = counts.reduce((a, n, i) => a + draw[i] * n, 0);
        return mean(totals[0].map((_, s) => (100 * totals.reduce((a, t, i) => a + draw[i] * t[s], 0)) / den));
      };
      const perSample = totals.length ? totals[0].map((_, s) => (100 * totals.reduce((a, t) => a + t[s], 0)) / counts.reduce((a, b) => a + b, 0)) : [];
      return summarizeScores(perSample, perItem, env.interval(counts.length, figure));
    },
  };
}

function requireGroundTruth(item: MetricItem, metric: string): Frames {
  if (!item.groundTruth) throw new KilnError(`${metric}: item ${item.name} has no ground truth`);
  for (const s of item.samples) {
    if (s.t !== item.groundTruth.t) {
      throw new KilnError(`${metric}: item ${item.name} has ${s.t} generated frames but ${item.groundTruth.t} ground-truth frames`);
    }
  }
  return item.groundTruth;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

function normalized(v: ArrayLike<number>): Float64Array {
  const n = Math.hypot(...Array.from(v));
  return Float64Array.from(v, (x) => (n > 0 ? x / n : 0));
}

/**
 * Frechet distance per sample between ground-truth and generated features (one vector per frame or per
 * clip), with its bootstrap interval over items from each item's summed features.
 */
function frechetMetric(name: string, option: OptionSpec, embed: (env: MetricEnv, f: Frames, framesPerPrompt: readonly number[]) => Promise<Float64Array[]>): Metric {
  return {
    name,
    better: 'lower',
    needsGroundTruth: true,
    options: [option, BOOTSTRAPS_OPTION],
    async start(env) {
      const truth: Float64Array[][] = [];
      const preds: Float64Array[][][] = [];
      return {
        async add(item) {
          truth.push(await embed(env, requireGroundTruth(item, name), item.frames));
          for (const [s, clip] of item.samples.entries()) (preds[s] ??= []).push(await embed(env, clip, item.frames));
        },
        finish: () => {
          const perSample = preds.map((p) => frechetFromFeatures(truth.flat(), p.flat()).distance);
          const shift = columnMean(truth.flat());
          const truthMoments = truth.map((rows) => moments(rows, shift));
          const predMoments = preds.map((p) => p.map((rows) => moments(rows, shift)));
          const figure = (draw: Float64Array) => mean(predMoments.map((p) => resampledFrechet(truthMoments, p, shift, draw)));
          return summarizeScores(perSample, undefined, env.interval(truth.length, figure));
        },
      };
    },
  };
}

export const metrics = createRegistry<Metric>('metric');

metrics.register(
  'fid',
  frechetMetric('fid', FRAME_FEATURES_OPTION, (env, f) => env.frameFeatures(f)),
  'Frechet distance between per-frame features of all generated and ground-truth frames (FID-style)',
);
metrics.register(
  'fvd',
  frechetMetric('fvd', VIDEO_FEATURES_OPTION, (env, f, frames) => env.videoFeatures(f, frames)),
  'Frechet distance between per-clip features (FVD-style): whole clips repeated/linspace-subsampled to multiples of 9 frames, or each segment for a per-segment extractor (kiln-judge)',
);

metrics.register(
  'sim',
  {
    name: 'sim',
    better: 'higher',
    needsGroundTruth: true,
    options: [FRAME_FEATURES_OPTION, BOOTSTRAPS_OPTION],
    async start(env) {
      const sums = itemSums(env);
      return {
        async add(item) {
          const truth = await env.frameFeatures(requireGroundTruth(item, 'sim'));
          const totals: number[] = [];
          for (const clip of item.samples) {
            const pred = await env.frameFeatures(clip);
            totals.push(pred.reduce((a, p, t) => a + cosine(p, truth[t]), 0));
          }
          sums.add(item.name, totals, truth.length);
        },
        finish: () => sums.finish(),
      };
    },
  },
  'mean per-frame cosine similarity of frame features to the ground truth, x100',
);

/** One embedding per segment: the encoder's own, or the mean of its unit frame embeddings (the reference's VTM). */
async function segmentEmbeddings(encoder: DualEncoder, segments: Frames[]): Promise<Float64Array[]> {
  if (encoder.embedSegments) return (await encoder.embedSegments(segments)).map(normalized);
  return Promise.all(segments.map(async (seg) => {
    const embs = (await encoder.embedFrames(seg)).map(normalized);
    const m = new Float64Array(embs[0].length);
    for (const e of embs) e.forEach((v, i) => (m[i] += v / embs.length));
    return m;
  }));
}

metrics.register(
  'vtm',
  {
    name: 'vtm',
    better: 'higher',
    needsGroundTruth: false,
    options: [DUAL_ENCODER_OPTION, BOOTSTRAPS_OPTION],
    async start(env) {
      const encoder = await env.dualEncoder();
      const sums = itemSums(env);
      return {
        async add(item) {
          const texts = (await encoder.embedTexts(item.texts)).map(normalized);
          const totals: number[] = [];
          for (const clip of item.samples) {
            const parts = splitByPrompt(clip, item.frames);
            totals.push((await segmentEmbeddings(encoder, parts)).reduce((a, m, k) => a + m.reduce((x, v, i) => x + v * texts[k][i], 0), 0));
          }
          sums.add(item.name, totals, item.frames.length);
        },
        finish: () => sums.finish(),
      };
    },
  },
  'video-text matching: segment embedding (or mean frame embedding) . prompt embedding, x100',
);
