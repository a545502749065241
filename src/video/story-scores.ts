/**
 * Stories of 1 to 8 prompts generated from the prompts alone, scored segment by segment from the
 * pixels and by the judge, beside the same measures on the ground truth: does each new prompt
 * change the video the way it says, does an object named for the first time by a later prompt show
 * in its colour, do objects keep their shape and colour, does the video keep changing (no freezing).
 */
import { check, createRng } from '../core/index.js';
import type { tf } from '../backend/index.js';
import { sliceFrames, toUint8, type Frames } from '../media/index.js';
import type { CViViT } from './cvivit.js';
import { judge } from './judge.js';
import { measureSegment } from './measures.js';
import { DEFAULT_SAMPLING, generateStory } from './story.js';
import type { LoadedGenerator } from './train-generator.js';
import { backgroundText, renderStory, sampleStory, segmentRanges, type Segment } from './world.js';

export const STORY_FIGURES = ['action', 'shape', 'colour', 'visible', 'motion', 'size', 'paletteColour', 'newObject', 'changing'] as const;
export type StoryFigure = (typeof STORY_FIGURES)[number];

export const STORY_LABELS: Record<StoryFigure, string> = {
  action: 'judge: action',
  shape: 'judge: shape',
  colour: 'judge: colour',
  visible: 'object visible (frames)',
  motion: 'moves the named way (move, jump)',
  size: 'size changes the named way (grow, shrink)',
  paletteColour: 'named colour (pixels)',
  newObject: 'a newly named object shows in its colour',
  changing: 'segment not frozen',
};

/**
 * Largest mean absolute difference (0-255) of any frame from a segment's first frame below which the
 * segment counts as frozen. Every ground-truth action changes some frame by more (the least, a tiny
 * object fading out, by about 0.3; 1342 segments checked); a jump returns to where it started, so
 * the last frame alone would not do.
 */
export const FROZEN_DIFFERENCE = 0.25;

/** Hits out of n per figure (frames for "visible", segments for the rest). */
export type StoryTally = Record<StoryFigure, { hits: number; n: number }>;

/** Tallies by number of prompts in the story and by the prompt's position in it, for the generated stories and the truth. */
export interface LongStoryScores {
  lengths: number[];
  perLength: number;
  seconds: number;
  generated: { byLength: Record<number, StoryTally>; byPosition: Record<number, StoryTally> };
  truth: { byLength: Record<number, StoryTally>; byPosition: Record<number, StoryTally> };
}

const emptyTally = (): StoryTally => Object.fromEntries(STORY_FIGURES.map((f) => [f, { hits: 0, n: 0 }])) as StoryTally;

/** Largest mean absolute difference of a frame of `clip` from its first frame. */
function largestChange(clip: Frames): number {
  const d = toUint8(clip).data;
  const n = clip.h * clip.w * 3;
  let most = 0;
  for (let f = 1; f < clip.t; f++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.abs(d[i] - d[f * n + i]);
    most = Math.max(most, sum / n);
  }
  return most;
}

/**
 * Generates `perLength` stories for each count of prompts in `lengths` (the training split's
 * distribution of actions, on a named background, from the prompts alone) and scores every segment.
 */
export function scoreLongStories(tok: CViViT, gen: LoadedGenerator, judgeModel: tf.LayersModel, opts: { lengths: number[]; perLength: number; seed: number; onStory?: (done: number) => void }): LongStoryScores {
  check(opts.lengths.length > 0 && opts.lengths.every((l) => Number.isInteger(l) && l >= 1 && l <= 8), `story lengths must be 1 to 8 prompts (got ${opts.lengths.join(',')})`);
  check(Number.isInteger(opts.perLength) && opts.perLength >= 1, `stories per length must be a positive integer (got ${opts.perLength})`);
  const rng = createRng(opts.seed);
  const out = { generated: { byLength: {}, byPosition: {} }, truth: { byLength: {}, byPosition: {} } } as Pick<LongStoryScores, 'generated' | 'truth'>;
  const clips: Record<'generated' | 'truth', Frames[]> = { generated: [], truth: [] };
  const where: { length: number; position: number; segment: Segment; fresh: boolean }[] = [];
  const started = Date.now();
  let done = 0;
  for (const length of opts.lengths) {
    for (let i = 0; i < opts.perLength; i++) {
      const story = sampleStory(rng, `long_${length}_${i}`, { split: 'train', segments: length });
      const frames = story.segments.map((s) => s.frames);
      const videos = {
        generated: generateStory(tok, gen, story.segments.map((s) => s.prompt), frames, { ...DEFAULT_SAMPLING, seed: opts.seed + done, background: backgroundText(story.background) }),
        truth: renderStory(story),
      };
      segmentRanges(story).forEach(([s, e], k) => {
        for (const sys of ['generated', 'truth'] as const) clips[sys].push(sliceFrames(videos[sys], s, e));
        // A later prompt that names an object for the first time starts with "a".
        where.push({ length, position: k + 1, segment: story.segments[k], fresh: k > 0 && story.segments[k].prompt.startsWith('a ') });
      });
      opts.onStory?.(++done);
    }
  }
  for (const sys of ['generated', 'truth'] as const) {
    const judged = judge(judgeModel, clips[sys]);
    clips[sys].forEach((clip, i) => {
      const { length, position, segment, fresh } = where[i];
      const m = measureSegment(clip, segment);
      const ok: Partial<Record<StoryFigure, boolean | null>> = {
        action: judged[i].action === segment.action, shape: judged[i].shape === segment.shape, colour: judged[i].colour === segment.colour,
        motion: m.motion, size: m.size, paletteColour: m.colour, newObject: fresh ? m.colour : null,
        changing: largestChange(clip) >= FROZEN_DIFFERENCE,
      };
      for (const table of [out[sys].byLength[length] ??= emptyTally(), out[sys].byPosition[position] ??= emptyTally()]) {
        table.visible.hits += m.visibleFrames;
        table.visible.n += m.frames;
        for (const [f, v] of Object.entries(ok) as [StoryFigure, boolean | null][]) {
          if (v === null) continue;
          table[f].hits += v ? 1 : 0;
          table[f].n += 1;
        }
      }
    });
  }
  return { lengths: opts.lengths, perLength: opts.perLength, seconds: (Date.now() - started) / 1000, ...out };
}
