/**
 * Held-out evaluation of story generation. Each held-out story is run as a StoryBench story
 * continuation (the first 4 frames condition the model; every later frame is generated from the
 * prompts) and compared, segment by segment, with the ground truth and with the trivial baseline
 * that repeats the last conditioning frame, and with the tokenizer's reconstruction of the ground
 * truth. The judge names each segment's action, shape and
 * colour; its features give a Frechet distance to the ground-truth segments. `evaluateTokenizer`
 * scores the reconstruction alone against the ground truth, before any generator is trained.
 */
import { tf } from '../backend/index.js';
import type { CViViT } from './cvivit.js';
import { COND_FRAMES, type LoadedStory } from './dataset.js';
import { bootstrapCounts, frechetFromFeatures, percentile, wilson } from '../math/index.js';
import { measureSegment, type SegmentMeasures } from './measures.js';
import { judge, type JudgeInputRange } from './judge.js';
import { generateStory, type StoryOptions } from './story.js';
import type { LoadedGenerator } from './train-generator.js';
import { segmentRanges } from './world.js';
import { concatFrames, framesFromValues, psnr, repeatFrame, sliceFrames, type Frames } from '../media/index.js';

/**
 * 'reconstruction' is the ground truth passed through the tokenizer: the ceiling of any generator
 * that speaks its tokens, which separates what the tokenizer loses from what the generator gets wrong.
 *
 * @inline
 */
export type System = 'ground truth' | 'reconstruction' | 'generated' | 'baseline';
export const SYSTEMS: System[] = ['ground truth', 'reconstruction', 'generated', 'baseline'];
/** The rows of a tokenizer's evaluation (`evaluateTokenizer`). */
export type TokenizerSystem = 'ground truth' | 'reconstruction';
export const TOKENIZER_SYSTEMS: TokenizerSystem[] = ['ground truth', 'reconstruction'];

/** A figure and its 95% interval; n counts what it averages over (segments, frames or stories). */
export interface Estimate {
  value: number;
  low: number;
  high: number;
  n: number;
}

/** The figures of one system, each with its 95% interval. */
export interface SystemScores {
  /** Judge accuracies over segments. */
  action: Estimate;
  shape: Estimate;
  colour: Estimate;
  /** Judge-free: scored frames that show an object. */
  visible: Estimate;
  /** Judge-free: move and jump segments going the named way. */
  motion: Estimate;
  /** Judge-free: mean centroid travel along the named direction on move segments (px). */
  travel: Estimate;
  /** Judge-free: grow and shrink segments changing size the named way. */
  size: Estimate;
  /** Judge-free: segments whose object has the named palette colour. */
  paletteColour: Estimate;
  /** Frechet distance of judge features to the ground-truth segments. */
  frechet: Estimate;
  /** Mean PSNR of the scored frames against the ground truth (NaN for the ground truth itself). */
  psnr: Estimate;
}

export type Figure = keyof SystemScores;
export const FIGURES: Figure[] = ['action', 'shape', 'colour', 'visible', 'motion', 'travel', 'size', 'paletteColour', 'frechet', 'psnr'];

/** A paired difference between two systems on one figure, over the same bootstrap resamples of stories. */
export interface Comparison<S extends System = System> {
  figure: Figure;
  system: S;
  against: S;
  difference: number;
  low: number;
  high: number;
  /** The 95% interval of the difference excludes 0. */
  significant: boolean;
}

/** The comparisons `kiln video eval` reports: the generated row against each baseline. */
export const COMPARED: [System, System][] = [['generated', 'baseline'], ['generated', 'reconstruction']];
/** The comparison of a tokenizer's evaluation: what the tokenizer loses against the truth. */
export const TOKENIZER_COMPARED: [TokenizerSystem, TokenizerSystem][] = [['reconstruction', 'ground truth']];

/** Bootstrap resamples of the held-out stories behind every interval that is not a Wilson interval. */
export const BOOTSTRAPS = 1000;

/**
 * Decoding settings of the generated row; every story is continued from its ground-truth frames.
 *
 * @inline
 */
export type EvalSampling = Omit<StoryOptions, 'conditioning' | 'background'>;

/** Scores of the systems `S`: all four from `evaluateStories`, two from `evaluateTokenizer`. */
export interface EvalResult<S extends System = System> {
  stories: number;
  segments: number;
  /** Tokenizer encode/decode PSNR on the held-out videos. */
  reconstructionPsnr: number;
  /** Seconds per generated frame (null without a generator). */
  secondsPerFrame: number | null;
  /** The decoding settings the generated row was sampled with (null without a generator). */
  sampling: EvalSampling | null;
  /** The systems scored, in the order of the report's rows. */
  rows: S[];
  systems: Record<S, SystemScores>;
  /** The pairs of `comparisons`, each as [system, against]. */
  compared: [S, S][];
  comparisons: Comparison<S>[];
  /** Per story: its videos (scored frames only), one per system, for the gallery. */
  samples: { id: string; texts: string[]; videos: Record<S, Frames> }[];
}

export function reconstruct(tok: CViViT, v: Frames): Frames {
  const out = tf.tidy(() => tok.decode(tok.encode(tf.tensor(v.data, [1, v.t, v.h, v.w, 3], 'int32'))));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return sliceFrames(framesFromValues(data, out.shape[1]!, v.h, v.w), 0, v.t);
}

/**
 * Scores the four systems on held-out `stories`. With `featureRange` (the judge's input-range.json),
 * the Frechet distance reads judge features of inputs clamped to the judge's training range, as
 * StoryBench's kiln-judge features do: a generated segment of faint scattered pixels has outline
 * statistics far outside any training clip, and its unclamped features alone decide the distance.
 */
export function evaluateStories(tok: CViViT, gen: LoadedGenerator, judgeModel: tf.LayersModel, stories: LoadedStory[], sampling: EvalSampling, onStory?: (n: number) => void, featureRange?: JudgeInputRange): EvalResult {
  let genSeconds = 0;
  let genFrames = 0;
  const scores = scoreSystems(SYSTEMS, COMPARED, stories, (video, reconstruction, n) => {
    const { story } = stories[n];
    const cond = sliceFrames(video, 0, COND_FRAMES);
    const frames = story.segments.map((s, k) => (k === 0 ? s.frames - COND_FRAMES : s.frames));
    const started = Date.now();
    const generated = generateStory(tok, gen, story.segments.map((s) => s.prompt), frames, { ...sampling, seed: sampling.seed + n, conditioning: cond });
    genSeconds += (Date.now() - started) / 1000;
    genFrames += generated.t;
    return {
      'ground truth': video,
      reconstruction,
      generated: concatFrames([cond, generated]),
      baseline: concatFrames([cond, repeatFrame(cond, COND_FRAMES - 1, video.t - COND_FRAMES)]),
    };
  }, tok, judgeModel, onStory, featureRange);
  return { ...scores, secondsPerFrame: genSeconds / Math.max(1, genFrames), sampling };
}

/**
 * Scores a tokenizer alone: its reconstructions of the held-out stories against the ground truth,
 * segment by segment as `evaluateStories` cuts them, with the paired difference (what the tokenizer
 * loses). No generator is needed, so a tokenizer can be judged before one is trained on its codes.
 */
export function evaluateTokenizer(tok: CViViT, judgeModel: tf.LayersModel, stories: LoadedStory[], onStory?: (n: number) => void, featureRange?: JudgeInputRange): EvalResult<TokenizerSystem> {
  const scores = scoreSystems(TOKENIZER_SYSTEMS, TOKENIZER_COMPARED, stories, (video, reconstruction) => ({ 'ground truth': video, reconstruction }), tok, judgeModel, onStory, featureRange);
  return { ...scores, secondsPerFrame: null, sampling: null };
}

/** Everything of an EvalResult but the generation settings and speed. */
type Scored<S extends System> = Omit<EvalResult<S>, 'secondsPerFrame' | 'sampling'>;

/** Scores the `rows` systems, whose videos of story n `videosOf` gives, cut into the stories' segments. */
function scoreSystems<S extends System>(
  rows: S[], compared: [S, S][], stories: LoadedStory[], videosOf: (video: Frames, reconstruction: Frames, n: number) => Record<S, Frames>,
  tok: CViViT, judgeModel: tf.LayersModel, onStory?: (n: number) => void, featureRange?: JudgeInputRange,
): Scored<S> {
  const clips = Object.fromEntries(rows.map((sys) => [sys, [] as Frames[]])) as Record<S, Frames[]>;
  const psnrs = Object.fromEntries(rows.map((sys) => [sys, [] as number[]])) as Record<S, number[]>;
  const truth: LoadedStory['story']['segments'] = [];
  const storyOf: number[] = [];
  const recon: number[] = [];
  const samples: Scored<S>['samples'] = [];
  stories.forEach(({ story, video }, n) => {
    const reconstruction = reconstruct(tok, video);
    recon.push(psnr(video, reconstruction));
    const full = videosOf(video, reconstruction, n);
    for (const sys of rows) psnrs[sys].push(psnr(sliceFrames(full[sys], COND_FRAMES, video.t), sliceFrames(video, COND_FRAMES, video.t)));
    segmentRanges(story).forEach(([s, e], k) => {
      const from = k === 0 ? COND_FRAMES : s;
      for (const sys of rows) clips[sys].push(sliceFrames(full[sys], from, e));
      truth.push(story.segments[k]);
      storyOf.push(n);
    });
    samples.push({ id: story.id, texts: story.segments.map((s) => s.prompt), videos: full });
    onStory?.(n + 1);
  });
  const judged = Object.fromEntries(rows.map((sys) => [sys, judge(judgeModel, clips[sys])])) as Record<S, ReturnType<typeof judge>>;
  const measured = Object.fromEntries(rows.map((sys) => [sys, clips[sys].map((c, i) => measureSegment(c, truth[i]))])) as Record<S, SegmentMeasures[]>;
  const units = (sys: S): Record<Figure, Unit[]> => {
    const seg = (value: (i: number) => number | null, weight = (_i: number) => 1): Unit[] =>
      truth.flatMap((_, i) => (value(i) === null ? [] : [{ story: storyOf[i], value: value(i)!, weight: weight(i) }]));
    const hit = (ok: boolean | null) => (ok === null ? null : ok ? 1 : 0);
    const m = measured[sys];
    return {
      action: seg((i) => hit(judged[sys][i].action === truth[i].action)),
      shape: seg((i) => hit(judged[sys][i].shape === truth[i].shape)),
      colour: seg((i) => hit(judged[sys][i].colour === truth[i].colour)),
      visible: seg((i) => m[i].visibleFrames / m[i].frames, (i) => m[i].frames),
      motion: seg((i) => hit(m[i].motion)),
      travel: seg((i) => m[i].travel),
      size: seg((i) => hit(m[i].size)),
      paletteColour: seg((i) => hit(m[i].colour)),
      frechet: [],
      // Ground truth against itself has no finite PSNR (NaN, null in JSON).
      psnr: sys === 'ground truth' ? [] : psnrs[sys].map((value, story) => ({ story, value, weight: 1 })),
    };
  };
  const perSystem = Object.fromEntries(rows.map((sys) => [sys, units(sys)])) as Record<S, Record<Figure, Unit[]>>;
  const features = Object.fromEntries(rows.map((sys) => [sys, (featureRange ? judge(judgeModel, clips[sys], featureRange) : judged[sys]).map((j) => j.features)])) as Record<S, number[][]>;
  // Every evaluation scores the ground truth (SYSTEMS and TOKENIZER_SYSTEMS both start with it).
  const reference = features['ground truth' as S];
  const frechet = (sys: S, counts: Float64Array) => {
    const pick = (rows: number[][]) => rows.flatMap((row, i) => Array<number[]>(counts[storyOf[i]]).fill(row));
    return frechetFromFeatures(pick(reference), pick(features[sys])).distance;
  };
  const value = (sys: S, figure: Figure, counts: Float64Array) => (figure === 'frechet' ? frechet(sys, counts) : weightedMean(perSystem[sys][figure], counts));
  // Whole stories are resampled: the segments of one story are not independent.
  const resamples = bootstrapCounts(stories.length, BOOTSTRAPS, 7);
  const all = new Float64Array(stories.length).fill(1);
  // Every figure of every system on every resample, computed once: the differences pair them up.
  const boots = Object.fromEntries(rows.map((sys) => [sys, Object.fromEntries(FIGURES.map((f) => [f, resamples.map((c) => value(sys, f, c))]))])) as Record<S, Record<Figure, number[]>>;
  const systems = Object.fromEntries(rows.map((sys) => [sys, Object.fromEntries(FIGURES.map((figure) => {
    const us = perSystem[sys][figure];
    const n = figure === 'frechet' ? truth.length : us.reduce((a, u) => a + u.weight, 0);
    if (RATES.has(figure)) {
      const w = wilson(us.reduce((a, u) => a + u.value * u.weight, 0), n);
      return [figure, { value: w.rate, low: w.low, high: w.high, n }];
    }
    const v = figure === 'psnr' && sys === 'ground truth' ? NaN : value(sys, figure, all);
    const sorted = Number.isNaN(v) ? [] : boots[sys][figure].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    return [figure, { value: v, low: percentile(sorted, 0.025), high: percentile(sorted, 0.975), n }];
  }))])) as unknown as Record<S, SystemScores>;
  const comparisons = compared.flatMap(([system, against]) => FIGURES.map((figure): Comparison<S> => {
    const diffs = boots[system][figure].map((x, b) => x - boots[against][figure][b]).filter((d) => !Number.isNaN(d)).sort((a, b) => a - b);
    const low = percentile(diffs, 0.025), high = percentile(diffs, 0.975);
    return { figure, system, against, difference: systems[system][figure].value - systems[against][figure].value, low, high, significant: low > 0 || high < 0 };
  }));
  return {
    stories: stories.length, segments: truth.length, reconstructionPsnr: recon.reduce((a, b) => a + b, 0) / recon.length,
    rows, systems, compared, comparisons, samples,
  };
}

/** Figures that are shares of segments or frames: Wilson intervals; the others get bootstrap intervals. */
const RATES = new Set<Figure>(['action', 'shape', 'colour', 'visible', 'motion', 'size', 'paletteColour']);

/** One thing a figure averages: a segment (or a story, for PSNR), its value and weight. */
interface Unit {
  story: number;
  value: number;
  weight: number;
}

/** Weighted mean of `units` with each story counted `counts[story]` times (NaN when none is drawn). */
function weightedMean(units: Unit[], counts: Float64Array): number {
  let num = 0, den = 0;
  for (const u of units) {
    num += counts[u.story] * u.weight * u.value;
    den += counts[u.story] * u.weight;
  }
  return den > 0 ? num / den : NaN;
}

/** The two lines that introduce the scores: what was evaluated and how the generated row was sampled. */
export function scoresIntro<S extends System>(r: EvalResult<S>): string[] {
  const stories = `Held-out stories: ${r.stories} (${r.segments} segments`;
  const psnr = `Tokenizer reconstruction PSNR: ${r.reconstructionPsnr.toFixed(2)} dB.`;
  if (r.sampling === null || r.secondsPerFrame === null) {
    return [`${stories}, scored after the first ${COND_FRAMES} frames as a story continuation is). ${psnr} The tokenizer alone: no generator.`];
  }
  return [
    `${stories}, story continuation from ${COND_FRAMES} frames). ${psnr} Generation: ${r.secondsPerFrame.toFixed(3)} s/frame.`,
    `Sampling: ${r.sampling.steps} decoding steps, temperature ${r.sampling.temperature}, guidance ${r.sampling.guidance}, choice temperature ${r.sampling.choiceTemperature}, seed ${r.sampling.seed}.`,
  ];
}

/** Column heading and format of each figure. */
const FORMAT: Record<Figure, { label: string; scale: number; digits: number }> = {
  action: { label: 'action %', scale: 100, digits: 1 },
  shape: { label: 'shape %', scale: 100, digits: 1 },
  colour: { label: 'colour %', scale: 100, digits: 1 },
  frechet: { label: 'Frechet (judge features)', scale: 1, digits: 1 },
  psnr: { label: 'PSNR vs truth dB', scale: 1, digits: 2 },
  visible: { label: 'object visible % of frames', scale: 100, digits: 1 },
  motion: { label: 'moves the named way % (move, jump)', scale: 100, digits: 1 },
  travel: { label: 'travel along the named direction px (move)', scale: 1, digits: 2 },
  size: { label: 'size changes the named way % (grow, shrink)', scale: 100, digits: 1 },
  paletteColour: { label: 'named colour % (pixels)', scale: 100, digits: 1 },
};

function withInterval(figure: Figure, value: number, low: number, high: number): string {
  const { scale, digits } = FORMAT[figure];
  if (Number.isNaN(value)) return '-';
  // Rounding leaves the truth's distance to itself a hair below zero; print it as 0, not -0.0.
  const f = (x: number) => (Math.abs(x * scale) < 0.5 * 10 ** -digits ? 0 : x * scale).toFixed(digits);
  return `${f(value)} [${f(low)}, ${f(high)}]`;
}

/** A titled table of formatted cells. */
export interface ScoresTable {
  title: string;
  columns: string[];
  rows: string[][];
}

/**
 * The scores as three tables: the judge's figures and the judge-free measures per system (each
 * with its 95% interval), and the paired differences (the generated row against each baseline, or
 * the reconstruction against the ground truth).
 */
export function scoresTables<S extends System>(r: EvalResult<S>): ScoresTable[] {
  const perSystem = (title: string, figures: Figure[]): ScoresTable => ({
    title, columns: ['system', ...figures.map((f) => FORMAT[f].label)],
    rows: r.rows.map((sys) => [sys, ...figures.map((f) => withInterval(f, r.systems[sys][f].value, r.systems[sys][f].low, r.systems[sys][f].high))]),
  });
  const diff = (figure: Figure, [system, against]: [S, S]) => {
    const c = r.comparisons.find((x) => x.figure === figure && x.system === system && x.against === against)!;
    return `${withInterval(figure, c.difference, c.low, c.high)}${c.significant ? ' significant' : ''}`;
  };
  return [
    perSystem('Judge (learned classifier) and distances, 95% intervals', ['action', 'shape', 'colour', 'frechet', 'psnr']),
    perSystem('Judge-free measures read from the pixels, 95% intervals', ['visible', 'motion', 'travel', 'size', 'paletteColour']),
    {
      title: 'Differences, 95% intervals (paired bootstrap over stories); "significant" when the interval excludes 0',
      columns: ['figure', ...r.compared.map(([a, b]) => `${a} - ${b}`)],
      rows: FIGURES.map((f) => [FORMAT[f].label, ...r.compared.map((pair) => diff(f, pair))]),
    },
  ];
}

/** How the intervals were computed, for the report. */
export function intervalsNote<S extends System>(r: EvalResult<S>): string {
  return `Intervals: Wilson 95% for shares (over the ${r.segments} segments, or over frames for "object visible"); percentile bootstrap over the ${r.stories} stories (${BOOTSTRAPS} resamples, seeded) for travel, Frechet distance, PSNR and every difference, so the segments of one story stay together.`;
}

/** The generated row's figures a training curve records, as percentages (travel in px). */
export const CURVE_FIGURES: Figure[] = ['action', 'shape', 'colour', 'motion', 'size', 'travel'];

/** The generated system's curve figures from an evaluation (shares as percentages). */
export function curveScores(r: EvalResult): Record<string, number> {
  const g = r.systems.generated;
  return Object.fromEntries(CURVE_FIGURES.map((f) => [f, RATES.has(f) ? 100 * g[f].value : g[f].value]));
}

/** Markdown tables of the scores. */
export function scoresMarkdown<S extends System>(r: EvalResult<S>): string {
  return [
    ...scoresIntro(r),
    ...scoresTables(r).flatMap(({ title, columns, rows }) => [
      '',
      `${title}:`,
      '',
      `| ${columns.join(' | ')} |`,
      `|${columns.map(() => '---').join('|')}|`,
      ...rows.map((row) => `| ${row.join(' | ')} |`),
    ]),
    '',
    intervalsNote(r),
  ].join('\n');
}
