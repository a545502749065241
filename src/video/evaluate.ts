/**
 * Held-out evaluation of story generation. Each held-out story is run as a StoryBench story
 * continuation (the first 4 frames condition the model; every later frame is generated from the
 * prompts) and compared, segment by segment, with the ground truth and with the trivial baseline
 * that repeats the last conditioning frame, and with the tokenizer's reconstruction of the ground
 * truth. The judge names each segment's action, shape and
 * colour; its features give a Frechet distance to the ground-truth segments.
 */
import { tf } from '../backend/index.js';
import type { CViViT } from './cvivit.js';
import { COND_FRAMES, type LoadedStory } from './dataset.js';
import { frechetFromFeatures } from '../math/index.js';
import { judge } from './judge.js';
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

export interface SystemScores {
  actionAccuracy: number;
  shapeAccuracy: number;
  colourAccuracy: number;
  /** Frechet distance of judge features to the ground-truth segments. */
  frechet: number;
  /** Mean PSNR of the scored frames against the ground truth. */
  psnr: number;
}

/**
 * Decoding settings of the generated row; every story is continued from its ground-truth frames.
 *
 * @inline
 */
export type EvalSampling = Omit<StoryOptions, 'conditioning' | 'background'>;

export interface EvalResult {
  stories: number;
  segments: number;
  /** Tokenizer encode/decode PSNR on the held-out videos. */
  reconstructionPsnr: number;
  secondsPerFrame: number;
  /** The decoding settings the generated row was sampled with. */
  sampling: EvalSampling;
  systems: Record<System, SystemScores>;
  /** Per story: the three videos (scored frames only) for the gallery. */
  samples: { id: string; texts: string[]; videos: Record<System, Frames> }[];
}

export function reconstruct(tok: CViViT, v: Frames): Frames {
  const out = tf.tidy(() => tok.decode(tok.encode(tf.tensor(v.data, [1, v.t, v.h, v.w, 3], 'int32'))));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return sliceFrames(framesFromValues(data, out.shape[1]!, v.h, v.w), 0, v.t);
}

export function evaluateStories(tok: CViViT, gen: LoadedGenerator, judgeModel: tf.LayersModel, stories: LoadedStory[], sampling: EvalSampling, onStory?: (n: number) => void): EvalResult {
  const clips = Object.fromEntries(SYSTEMS.map((sys) => [sys, [] as Frames[]])) as Record<System, Frames[]>;
  const psnrs = Object.fromEntries(SYSTEMS.map((sys) => [sys, [] as number[]])) as Record<System, number[]>;
  const truth: LoadedStory['story']['segments'] = [];
  const recon: number[] = [];
  const samples: EvalResult['samples'] = [];
  let genSeconds = 0;
  let genFrames = 0;
  stories.forEach(({ story, video }, n) => {
    const reconstruction = reconstruct(tok, video);
    recon.push(psnr(video, reconstruction));
    const cond = sliceFrames(video, 0, COND_FRAMES);
    const frames = story.segments.map((s, k) => (k === 0 ? s.frames - COND_FRAMES : s.frames));
    const started = Date.now();
    const generated = generateStory(tok, gen, story.segments.map((s) => s.prompt), frames, { ...sampling, seed: sampling.seed + n, conditioning: cond });
    genSeconds += (Date.now() - started) / 1000;
    genFrames += generated.t;
    const full: Record<System, Frames> = {
      'ground truth': video,
      reconstruction,
      generated: concatFrames([cond, generated]),
      baseline: concatFrames([cond, repeatFrame(cond, COND_FRAMES - 1, video.t - COND_FRAMES)]),
    };
    for (const sys of SYSTEMS) psnrs[sys].push(psnr(sliceFrames(full[sys], COND_FRAMES, video.t), sliceFrames(video, COND_FRAMES, video.t)));
    segmentRanges(story).forEach(([s, e], k) => {
      const from = k === 0 ? COND_FRAMES : s;
      for (const sys of SYSTEMS) clips[sys].push(sliceFrames(full[sys], from, e));
      truth.push(story.segments[k]);
    });
    samples.push({ id: story.id, texts: story.segments.map((s) => s.prompt), videos: full });
    onStory?.(n + 1);
  });
  const judged = Object.fromEntries(SYSTEMS.map((sys) => [sys, judge(judgeModel, clips[sys])])) as Record<System, ReturnType<typeof judge>>;
  const acc = (sys: System, key: 'action' | 'shape' | 'colour') => judged[sys].filter((j, i) => j[key] === truth[i][key]).length / truth.length;
  const reference = judged['ground truth'].map((j) => j.features);
  const systems = Object.fromEntries(SYSTEMS.map((sys) => [sys, {
    actionAccuracy: acc(sys, 'action'),
    shapeAccuracy: acc(sys, 'shape'),
    colourAccuracy: acc(sys, 'colour'),
    frechet: frechetFromFeatures(reference, judged[sys].map((j) => j.features)).distance,
    // Ground truth against itself has no finite PSNR (NaN, null in JSON).
    psnr: sys === 'ground truth' ? NaN : psnrs[sys].reduce((a, b) => a + b, 0) / psnrs[sys].length,
  }])) as Record<System, SystemScores>;
  return {
    stories: stories.length, segments: truth.length, reconstructionPsnr: recon.reduce((a, b) => a + b, 0) / recon.length,
    secondsPerFrame: genSeconds / Math.max(1, genFrames), sampling, systems, samples,
  };
}

/** The two lines that introduce the scores: what was evaluated and how the generated row was sampled. */
export function scoresIntro(r: EvalResult): string[] {
  return [
    `Held-out stories: ${r.stories} (${r.segments} segments, story continuation from ${COND_FRAMES} frames). Tokenizer reconstruction PSNR: ${r.reconstructionPsnr.toFixed(2)} dB. Generation: ${r.secondsPerFrame.toFixed(3)} s/frame.`,
    `Sampling: ${r.sampling.steps} decoding steps, temperature ${r.sampling.temperature}, guidance ${r.sampling.guidance}, choice temperature ${r.sampling.choiceTemperature}, seed ${r.sampling.seed}.`,
  ];
}

/** The scores as table columns and formatted rows, one row per system. */
export function scoresTable(r: EvalResult): { columns: string[]; rows: string[][] } {
  const pct = (x: number) => (100 * x).toFixed(1);
  return {
    columns: ['system', 'action acc %', 'shape acc %', 'colour acc %', 'Frechet (judge features)', 'PSNR vs truth dB'],
    rows: SYSTEMS.map((sys) => {
      const s = r.systems[sys];
      return [sys, pct(s.actionAccuracy), pct(s.shapeAccuracy), pct(s.colourAccuracy), s.frechet.toFixed(2), sys === 'ground truth' ? '-' : s.psnr.toFixed(2)];
    }),
  };
}

/** Markdown table of the scores. */
export function scoresMarkdown(r: EvalResult): string {
  const { columns, rows } = scoresTable(r);
  return [
    ...scoresIntro(r),
    '',
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
