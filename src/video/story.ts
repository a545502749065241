/**
 * Story mode (Phenaki): the first window is generated from the first prompt alone; every later
 * window re-encodes the last few frames generated so far as known tokens and generates the
 * continuation under the current prompt, so any number of prompts and any frame counts work.
 */
import { check, createRng } from '../core/index.js';
import { tf } from '../backend/index.js';
import type { CViViT } from './cvivit.js';
import { checkSameTokens, sampleWindow, type SampleOptions } from './maskgit.js';
import type { LoadedGenerator } from './train-generator.js';
import { concatFrames, framesFromValues, sliceFrames, type Frames } from '../media/index.js';

export interface StoryOptions extends Omit<SampleOptions, 'rng'> {
  seed: number;
  background?: string | null;
  /** Frames that precede the story (story continuation); they are not part of the result. */
  conditioning?: Frames | null;
}

// Temperature 0.3 beat 0.5 and 1 on the held-out judge scores of the shipped generator (BENCHMARKS.md).
export const DEFAULT_SAMPLING = { steps: 12, temperature: 0.3, guidance: 3, choiceTemperature: 4.5 };

/** Decodes code ids [S*P] of one window to a video of framesFor(S) frames. */
function decodeWindow(tok: CViViT, ids: Int32Array, steps: number): Frames {
  const frames = tf.tidy(() => tok.decode(tf.tensor3d(ids, [1, steps, tok.patchesPerStep], 'int32')));
  const data = frames.dataSync() as Float32Array;
  frames.dispose();
  return framesFromValues(data, tok.framesFor(steps), tok.cfg.size, tok.cfg.size);
}

/** Code ids of a (1 + tpatch*k)-frame video, flattened. */
function encodeVideo(tok: CViViT, v: Frames): Int32Array {
  const ids = tf.tidy(() => tok.encode(tf.tensor(v.data, [1, v.t, v.h, v.w, 3], 'int32')));
  const out = ids.dataSync() as Int32Array;
  ids.dispose();
  return Int32Array.from(out);
}

/** Generates `frames[k]` frames for each prompt k; returns only the generated frames. */
export function generateStory(tok: CViViT, gen: LoadedGenerator, prompts: string[], frames: number[], opts: StoryOptions): Frames {
  check(prompts.length > 0, 'at least one prompt is needed');
  check(prompts.length === frames.length, `got ${prompts.length} prompts but ${frames.length} frame counts`);
  check(frames.every((f) => Number.isInteger(f) && f >= 1), 'frame counts must be positive integers');
  const { model, text } = gen;
  checkSameTokens(tok, model);
  const rng = createRng(opts.seed);
  const W = model.cfg.windowSteps;
  const P = model.cfg.tokensPerStep;
  const windowFrames = tok.framesFor(W);
  const ctxMax = tok.framesFor(gen.contextSteps);
  let video: Frames | null = opts.conditioning ?? null;
  const before = video?.t ?? 0;
  const nullIds = text.nullIds();
  prompts.forEach((prompt, k) => {
    const textIds = text.encode(prompt, k === 0 ? opts.background : null);
    let produced = 0;
    while (produced < frames[k]) {
      const known = new Int32Array(W * P).fill(-1);
      let ctx = 0;
      if (video && video.t > 0) {
        // Context: the last 1 + tpatch*j frames (at most the trained context), encoded as known tokens.
        ctx = Math.min(ctxMax, video.t);
        ctx = ctx - ((ctx - 1) % tok.cfg.tpatch);
        known.set(encodeVideo(tok, sliceFrames(video, video.t - ctx, video.t)));
      }
      const ids = sampleWindow(model, known, textIds, nullIds, { ...opts, rng });
      const window = decodeWindow(tok, ids, W);
      const take = Math.min(frames[k] - produced, windowFrames - ctx);
      const part = sliceFrames(window, ctx, ctx + take);
      video = video ? concatFrames([video, part]) : part;
      produced += take;
    }
  });
  return sliceFrames(video!, before, video!.t);
}
