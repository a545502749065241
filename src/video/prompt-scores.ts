/**
 * Generation from a prompt alone (no conditioning frames), scored from the pixels and by the judge:
 * single-prompt stories "a COLOUR SHAPE moves DIRECTION" on a named background (colours, shapes and
 * backgrounds in turn, directions drawn), each asked whether its first frame shows the named
 * background, whether an object is visible in each frame, whether its colour is the named one,
 * whether it moves the named way (the judge-free measures of `kiln video eval`), and what the judge reads.
 */
import { createRng, check } from '../core/index.js';
import type { tf } from '../backend/index.js';
import { sliceFrames, type Frames } from '../media/index.js';
import type { CViViT } from './cvivit.js';
import { judge } from './judge.js';
import { backgroundColour, measureSegment } from './measures.js';
import { DEFAULT_SAMPLING, generateStory } from './story.js';
import type { LoadedGenerator } from './train-generator.js';
import { BACKGROUNDS, BACKGROUND_NAMES, COLOUR_NAMES, SHAPES, backgroundText, type Action } from './world.js';

export const PROMPT_FIGURES = ['background', 'visible', 'everyFrame', 'paletteColour', 'motion', 'judgeAction', 'judgeShape', 'judgeColour'] as const;
export type PromptFigure = (typeof PROMPT_FIGURES)[number];

export const PROMPT_LABELS: Record<PromptFigure, string> = {
  background: 'first frame: named background',
  visible: 'object visible (frames)',
  everyFrame: 'stories with an object in every frame',
  paletteColour: 'named colour (pixels)',
  motion: 'moves the named way',
  judgeAction: 'judge: action',
  judgeShape: 'judge: shape',
  judgeColour: 'judge: colour',
};

/** Hits out of n for each figure (frames for "visible", stories for the rest). */
export interface PromptScores {
  stories: number;
  frames: number;
  seconds: number;
  counts: Record<PromptFigure, { hits: number; n: number }>;
}

const DIRECTIONS = ['left', 'right', 'up', 'down'] as const;

/** Generates `stories` single-prompt stories of `frames` frames from their prompts alone and scores them. */
export function scorePromptAlone(tok: CViViT, gen: LoadedGenerator, judgeModel: tf.LayersModel, opts: { stories: number; seed: number; frames?: number }): PromptScores {
  check(Number.isInteger(opts.stories) && opts.stories >= 1, `prompt-alone stories must be a positive integer (got ${opts.stories})`);
  const frames = opts.frames ?? 16;
  const counts = Object.fromEntries(PROMPT_FIGURES.map((f) => [f, { hits: 0, n: 0 }])) as PromptScores['counts'];
  const add = (f: PromptFigure, ok: boolean | null, hits = 1, of = 1) => {
    if (ok === null) return;
    counts[f].hits += ok ? hits : 0;
    counts[f].n += of;
  };
  const rng = createRng(opts.seed);
  const clips: Frames[] = [];
  const truth: { action: Action; shape: string; colour: string }[] = [];
  const started = Date.now();
  for (let i = 0; i < opts.stories; i++) {
    const colour = COLOUR_NAMES[i % COLOUR_NAMES.length];
    const shape = SHAPES[Math.floor(i / COLOUR_NAMES.length) % SHAPES.length];
    const direction = DIRECTIONS[rng.int(DIRECTIONS.length)];
    const bg = BACKGROUND_NAMES[i % BACKGROUND_NAMES.length];
    const video = generateStory(tok, gen, [`a ${colour} ${shape} moves ${direction}`], [frames], { ...DEFAULT_SAMPLING, seed: opts.seed + i, background: backgroundText(bg) });
    const action = `move-${direction}` as Action;
    const m = measureSegment(video, { action, colour });
    const first = backgroundColour(sliceFrames(video, 0, 1).data as Uint8Array);
    add('background', first.every((c, k) => Math.abs(c - BACKGROUNDS[bg][k]) <= 24));
    add('visible', true, m.visibleFrames, m.frames);
    add('everyFrame', m.visibleFrames === m.frames);
    add('paletteColour', m.colour);
    add('motion', m.motion);
    clips.push(video);
    truth.push({ action, shape, colour });
  }
  const seconds = (Date.now() - started) / 1000;
  judge(judgeModel, clips).forEach((r, i) => {
    add('judgeAction', r.action === truth[i].action);
    add('judgeShape', r.shape === truth[i].shape);
    add('judgeColour', r.colour === truth[i].colour);
  });
  return { stories: opts.stories, frames, seconds, counts };
}
