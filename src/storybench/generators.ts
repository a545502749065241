import { KilnError, createRegistry, withDefaults, type OptionSpec, type OptionValue, type Rng } from '../core/index.js';
import { type Frames, makeFrames, repeatFrame, resizeFrames, sliceFrames } from '../media/index.js';
import type { TaskItem } from '../data/index.js';
import { DEFAULT_SAMPLING, generateStory, loadGenerator, loadTokenizer } from '../video/index.js';
import { shippedModel } from './kiln-world.js';

/**
 * The one adapter every video-story model implements: given a task item (prompts, frames per
 * prompt, background) and the conditioning frames (null for story_gen), return one clip per prompt
 * with exactly item.exact_frames_per_prompt[i] frames, all of one size. Frames are RGB 0..255; the
 * harness renders them at the task's resolution, so a model may work at its own.
 */
export interface StoryGenerator {
  name: string;
  /** Rejects items the model cannot take (e.g. words it never saw) before any generation starts. */
  check?(items: readonly TaskItem[]): void;
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
  /** The task's resolution (outputs not derived from a video, e.g. story_gen, use it). */
  height: number;
  width: number;
  /** The generator's declared options, checked, with defaults filled in. */
  options: Record<string, OptionValue>;
}

/** A registered generator: its options (for help and `--option` parsing) and how to build it. */
export interface GeneratorEntry {
  options: readonly OptionSpec[];
  create(opts: GeneratorOptions): StoryGenerator | Promise<StoryGenerator>;
}

export const generators = createRegistry<GeneratorEntry>('storybench generator');

/** Builds a registered generator with the given options over its defaults. */
export async function createGenerator(name: string, size: { height: number; width: number }, options: Record<string, OptionValue> = {}): Promise<StoryGenerator> {
  const entry = generators.get(name);
  return entry.create({ ...size, options: withDefaults(entry.options, options) });
}

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
  {
    options: [],
    create: () => ({
      name: 'repeat-last',
      async generate(item, conditioning, ctx) {
        const still = conditioning ?? grayFrame(ctx.height, ctx.width);
        return item.exact_frames_per_prompt.map((n) => repeatFrame(still, still.t - 1, n));
      },
    }),
  },
  'repeat the last conditioning frame (mid-gray for story_gen)',
);

/** 'oracle': returns the ground truth itself; a sanity check that metrics reach their best value. */
generators.register(
  'oracle',
  {
    options: [],
    create: () => ({
      name: 'oracle',
      async generate(item, _conditioning, ctx) {
        if (!ctx.groundTruth) throw new KilnError('the oracle generator needs ground-truth frames, and this item has none');
        return splitByPrompt(ctx.groundTruth, item.exact_frames_per_prompt);
      },
    }),
  },
  'the ground-truth frames (metric sanity check)',
);

const PHENAKI_OPTIONS: readonly OptionSpec[] = [
  { name: 'steps', type: 'integer', min: 1, max: 64, default: DEFAULT_SAMPLING.steps, description: 'parallel decoding iterations per window' },
  { name: 'temperature', type: 'number', min: 0, max: 10, default: DEFAULT_SAMPLING.temperature, description: 'token sampling temperature' },
  { name: 'guidance', type: 'number', min: 0, max: 50, default: DEFAULT_SAMPLING.guidance, description: 'classifier-free guidance scale (1 = none)' },
  { name: 'choiceTemperature', type: 'number', min: 0, max: 50, default: DEFAULT_SAMPLING.choiceTemperature, description: 'noise on the confidence that picks which tokens to keep, annealed to 0' },
  { name: 'tokenizer', type: 'string', description: 'C-ViViT tokenizer checkpoint folder (default: the shipped models/video/tokenizer)' },
  { name: 'generator', type: 'string', description: 'MaskGIT generator checkpoint folder (default: the shipped models/video/generator)' },
];

/**
 * 'phenaki': Kiln's text-to-video model (C-ViViT tokenizer + MaskGIT transformer, src/video) in story
 * mode. Conditioning frames are brought to the model's square frame size with the harness's own
 * centre crop, each sample is seeded from the harness's stream, and its 32x32 output is rendered at
 * the task resolution like every other system's.
 */
generators.register(
  'phenaki',
  {
    options: PHENAKI_OPTIONS,
    async create({ options }) {
      const tok = await loadTokenizer(String(options.tokenizer ?? shippedModel('video', 'tokenizer')));
      const gen = await loadGenerator(String(options.generator ?? shippedModel('video', 'generator')));
      const size = tok.cfg.size;
      const sampling = {
        steps: Number(options.steps), temperature: Number(options.temperature),
        guidance: Number(options.guidance), choiceTemperature: Number(options.choiceTemperature),
      };
      return {
        name: 'phenaki',
        check(items) {
          items.forEach((item, i) => {
            try {
              item.texts.forEach((t, k) => gen.text.encode(t, k === 0 ? item.background : null));
            } catch (e) {
              if (!(e instanceof KilnError)) throw e;
              throw new KilnError(`generator phenaki: item ${i}: ${e.message.replace(/ \(known words:.*\)$/, '')}; the model knows only the words of Kiln's story world (kiln data stories)`);
            }
          });
        },
        async generate(item, conditioning, ctx) {
          const cond = conditioning ? resizeFrames(conditioning, size, size, true) : null;
          const clip = generateStory(tok, gen, item.texts, item.exact_frames_per_prompt, {
            ...sampling, seed: ctx.rng.int(2 ** 31), background: item.background, conditioning: cond,
          });
          return splitByPrompt(clip, item.exact_frames_per_prompt);
        },
      };
    },
  },
  'Kiln\'s Phenaki-style text-to-video model (C-ViViT tokenizer + MaskGIT, models/video) in story mode',
);

function grayFrame(h: number, w: number): Frames {
  const f = makeFrames(1, h, w, 3);
  f.data.fill(128);
  return f;
}
