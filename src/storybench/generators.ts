import { KilnError, createRegistry, type Rng } from '../core/index.js';
import { type Frames, makeFrames, repeatFrame, sliceFrames } from '../media/index.js';
import type { TaskItem } from '../data/index.js';

/**
 * The one adapter every video-story model implements: given a task item (prompts, frames per
 * prompt, background) and the conditioning frames (null for story_gen), return one clip per prompt
 * with exactly item.exact_frames_per_prompt[i] frames, all of one size. Frames are RGB 0..255.
 */
export interface StoryGenerator {
  name: string;
  generate(item: TaskItem, conditioning: Frames | null, context: GenerationContext): Promise<Frames[]>;
}

/** What the harness knows besides the item: sample number, a seeded stream, and the ground truth (for the oracle only). */
export interface GenerationContext {
  sample: number;
  rng: Rng;
  height: number;
  width: number;
  groundTruth: Frames | null;
}

export interface GeneratorOptions {
  /** Frame size for outputs that are not derived from a video (story_gen). */
  height: number;
  width: number;
}

export const generators = createRegistry<(opts: GeneratorOptions) => StoryGenerator | Promise<StoryGenerator>>('storybench generator');

/** Splits a clip into consecutive runs of the given lengths. */
export function splitByPrompt(clip: Frames, counts: readonly number[]): Frames[] {
  let start = 0;
  return counts.map((n) => {
    const part = sliceFrames(clip, start, start + n);
    start += n;
    return part;
  });
}

/**
 * 'repeat-last': every prompt gets the last conditioning frame, held still. For story_gen there is
 * no conditioning, so every frame is mid-gray (128): the constant image closest on average to any
 * natural frame in squared error, with no information about the prompts.
 */
generators.register(
  'repeat-last',
  () => ({
    name: 'repeat-last',
    async generate(item, conditioning, ctx) {
      const still = conditioning ?? grayFrame(ctx.height, ctx.width);
      return item.exact_frames_per_prompt.map((n) => repeatFrame(still, still.t - 1, n));
    },
  }),
  'repeat the last conditioning frame (mid-gray for story_gen)',
);

/** 'oracle': returns the ground truth itself; a sanity check that metrics reach their best value. */
generators.register(
  'oracle',
  () => ({
    name: 'oracle',
    async generate(item, _conditioning, ctx) {
      if (!ctx.groundTruth) throw new KilnError('the oracle generator needs ground-truth frames, and this item has none');
      return splitByPrompt(ctx.groundTruth, item.exact_frames_per_prompt);
    },
  }),
  'the ground-truth frames (metric sanity check)',
);

function grayFrame(h: number, w: number): Frames {
  const f = makeFrames(1, h, w, 3);
  f.data.fill(128);
  return f;
}
