import fs from 'node:fs';
import path from 'node:path';
import { KilnError, check, createRng, projectRoot } from '../core/index.js';
import { ensureBackend, tf } from '../backend/index.js';
import { loadModel, saveModel } from '../nn/index.js';
import { type Frames, makeFrames, pickFrames, repeatFrame, sliceFrames } from '../media/index.js';
import { type JudgeInputRange, judge, judgeInput, loadJudge, loadJudgeInputRange, renderStory, sampleStory, segmentRanges, worldVocabulary } from '../video/index.js';
import { type FrameExtractor, type VideoExtractor, frameExtractors, videoExtractors } from './features.js';
import { type DualEncoder, dualEncoders } from './dual.js';

/**
 * Feature extractors trained on Kiln's story world, for benchmarking generators of that world (the
 * colour-grid statistics cannot tell a still frame from a moving object, and an Inception or CLIP
 * network has never seen it):
 *
 * - 'kiln-judge' (FID and FVD): the 64-d penultimate features of the video judge shipped in
 *   models/video/judge, a classifier of a segment clip's action, shape and colour, read with each input
 *   clamped to the range seen on the judge's training clips (so the features stay within what the
 *   network was fitted on). FVD embeds each prompt's segment; FID embeds each frame with the video's first
 *   frame as a two-frame clip (where the object is relative to where it started, size, colour and outline).
 * - 'kiln-dual' (VTM): a text-video dual encoder trained contrastively (CLIP's symmetric InfoNCE)
 *   on segment clips of generated stories and their prompts, shipped in models/storybench/dual. The
 *   video side reads the judge's input statistics of a segment (object trajectory, size, colour and
 *   outline over 8 frames), so a still frame does not match "moves left"; the text side is a
 *   bag of the world's words. VTM scores each segment as the cosine of the two embeddings, x100.
 *
 * Both are meaningful only on Kiln's own 32x32 world; the official datasets need ONNX exports.
 */

export const shippedModel = (...parts: string[]): string => path.join(projectRoot(), 'models', ...parts);

let judgeModel: Promise<{ model: tf.LayersModel; range: JudgeInputRange }> | undefined;
const shippedJudge = () => (judgeModel ??= (async () => {
  const dir = shippedModel('video', 'judge');
  return { model: await loadJudge(dir), range: loadJudgeInputRange(dir) };
})());

async function judgeFeatures(clips: Frames[]): Promise<Float64Array[]> {
  const { model, range } = await shippedJudge();
  const out: Float64Array[] = [];
  // Inputs clamped to the judge's training range: a generated frame of faint scattered pixels has an outline
  // statistic far beyond any training clip, and its unclamped features would dominate a Frechet distance.
  // Batches keep memory flat on long clips.
  for (let s = 0; s < clips.length; s += 256) out.push(...judge(model, clips.slice(s, s + 256), range).map((o) => Float64Array.from(o.features)));
  return out;
}

export const judgeFrameExtractor: FrameExtractor = {
  name: 'kiln-judge',
  // The judge reads positions relative to a clip's first frame, so a frame alone says nothing of where the object
  // is: each frame is embedded as the two-frame clip (video's first frame, this frame), which keeps how far the
  // object has come (a still copy of one frame stays at zero while the truth moves).
  embedFrames: (f) => judgeFeatures(Array.from({ length: f.t }, (_, t) => pickFrames(f, [0, t]))),
};

export const judgeVideoExtractor: VideoExtractor = {
  name: 'kiln-judge',
  // The judge reads one segment (one action) at a time, as it was trained.
  perSegment: true,
  async embedVideo(f) {
    return (await judgeFeatures([f]))[0];
  },
};

// ---- the dual encoder ------------------------------------------------------------------------------

const EMBED = 32;
/** Length of the judge's input statistics, which the dual encoder's video side reads. */
const judgeInputSize = () => judgeInput(makeFrames(1, 32, 32)).length;

/** Multi-hot over the world's vocabulary (unknown words ignored: a prompt is matched by what it shares). */
function textInput(texts: string[], vocab: string[]): tf.Tensor2D {
  const index = new Map(vocab.map((w, i) => [w, i]));
  const data = new Float32Array(texts.length * vocab.length);
  texts.forEach((t, i) => {
    for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
      const k = index.get(w);
      if (k !== undefined) data[i * vocab.length + k] = 1;
    }
  });
  return tf.tensor2d(data, [texts.length, vocab.length]);
}

function videoInput(clips: Frames[]): tf.Tensor2D {
  const rows = clips.map(judgeInput);
  const d = rows[0]?.length ?? judgeInputSize();
  const data = new Float32Array(clips.length * d);
  rows.forEach((r, i) => data.set(r, i * d));
  return tf.tensor2d(data, [clips.length, d]);
}

function tower(name: string, inputs: number, hidden: number): tf.LayersModel {
  const input = tf.input({ shape: [inputs] });
  const h = tf.layers.dense({ units: hidden, activation: 'relu', name: `${name}_hidden` }).apply(input) as tf.SymbolicTensor;
  const e = tf.layers.dense({ units: EMBED, name: `${name}_embedding` }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: e, name });
}

// sqrt(sum x^2 + eps), not tf.norm: the norm's gradient is NaN at a zero vector.
const l2 = (x: tf.Tensor2D) => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-8))) as tf.Tensor2D;

export interface DualTrainOptions {
  /** Segment clips to draw from freshly generated stories (both splits, its own seed). */
  clips: number;
  steps: number;
  batch?: number;
  seed: number;
  lr?: number;
  onStep?: (step: number, loss: number) => void;
}

/** Prompt without its article: "a red square jumps" and "the red square jumps" are the same text. */
const canonical = (prompt: string) => prompt.replace(/^(a|the) /, '');

/**
 * Trains the dual encoder with the symmetric InfoNCE loss at temperature 0.1; clips in a batch that
 * share a prompt are all positives for it (soft targets), so repeated prompts are not pushed apart.
 */
export async function trainKilnDual(opts: DualTrainOptions): Promise<{ video: tf.LayersModel; text: tf.LayersModel; loss: number }> {
  check(Number.isInteger(opts.clips) && opts.clips >= 16, '--clips must be an integer >= 16');
  check(Number.isInteger(opts.steps) && opts.steps >= 1, '--steps must be a positive integer');
  await ensureBackend();
  const rng = createRng(opts.seed);
  const clips: Frames[] = [];
  const prompts: string[] = [];
  for (let i = 0; clips.length < opts.clips; i++) {
    const story = sampleStory(rng, `dual_${i}`, { split: i % 3 === 0 ? 'test' : 'train' });
    const video = renderStory(story);
    segmentRanges(story).forEach(([s, e], k) => {
      clips.push(sliceFrames(video, s, e));
      prompts.push(canonical(story.segments[k].prompt));
    });
  }
  const vocab = worldVocabulary();
  const X = videoInput(clips);
  // Every action of the world changes something, so a segment's first frame held still matches no
  // prompt: these stills are extra negatives for each text (what a static baseline generates).
  const S = videoInput(clips.map((c) => repeatFrame(c, 0, c.t)));
  const T = textInput(prompts, vocab);
  const video = tower('video', judgeInputSize(), 128);
  const text = tower('text', vocab.length, 64);
  const optimizer = tf.train.adam(opts.lr ?? 2e-3);
  const B = Math.min(opts.batch ?? 128, clips.length);
  let loss = NaN;
  for (let step = 1; step <= opts.steps; step++) {
    const idx = Array.from({ length: B }, () => rng.int(clips.length));
    const same = new Float32Array(B * B);
    for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) same[i * B + j] = prompts[idx[i]] === prompts[idx[j]] ? 1 : 0;
    const value = optimizer.minimize(() => tf.tidy(() => {
      const ix = tf.tensor1d(idx, 'int32');
      const v = l2(video.apply(tf.gather(X, ix)) as tf.Tensor2D);
      const still = l2(video.apply(tf.gather(S, ix)) as tf.Tensor2D);
      const t = l2(text.apply(tf.gather(T, ix)) as tf.Tensor2D);
      const logits = tf.div(tf.matMul(v, t, false, true), 0.1);
      const targets = tf.tensor2d(same, [B, B]);
      // The same-prompt matrix is symmetric, so one row-normalised target serves both directions.
      const rows = tf.div(targets, tf.sum(targets, 1, true));
      const lv = tf.neg(tf.mean(tf.sum(tf.mul(rows, tf.logSoftmax(logits, 1)), 1)));
      // Text -> video: each text chooses among the batch's clips and their stills (zero target on the stills).
      const textLogits = tf.concat([tf.transpose(logits), tf.div(tf.matMul(t, still, false, true), 0.1)], 1);
      const textTargets = tf.concat([rows, tf.zerosLike(rows)], 1);
      const lt = tf.neg(tf.mean(tf.sum(tf.mul(textTargets, tf.logSoftmax(textLogits, 1)), 1)));
      return tf.div(tf.add(lv, lt), 2) as tf.Scalar;
    }), true, [...video.trainableWeights, ...text.trainableWeights].map((w) => w.read() as tf.Variable))!;
    loss = (await value.data())[0];
    value.dispose();
    opts.onStep?.(step, loss);
  }
  tf.dispose([X, S, T]);
  optimizer.dispose();
  return { video, text, loss };
}

export async function saveKilnDual(dir: string, models: { video: tf.LayersModel; text: tf.LayersModel }): Promise<void> {
  await saveModel(models.video, path.join(dir, 'video'));
  await saveModel(models.text, path.join(dir, 'text'));
  fs.writeFileSync(path.join(dir, 'vocabulary.json'), JSON.stringify(worldVocabulary()));
}

/** The dual encoder saved by `saveKilnDual` as a VTM encoder that embeds whole segments. */
export async function loadKilnDual(dir: string): Promise<DualEncoder> {
  if (!fs.existsSync(path.join(dir, 'vocabulary.json'))) throw new KilnError(`no kiln-dual encoder at ${dir} (run 'kiln storybench train-dual --out ${dir}')`);
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'vocabulary.json'), 'utf8')) as string[];
  const video = await loadModel(path.join(dir, 'video'));
  const text = await loadModel(path.join(dir, 'text'));
  const wants = video.inputs[0].shape[1];
  if (wants !== judgeInputSize()) {
    throw new KilnError(`the kiln-dual encoder at ${dir} reads ${wants} judge statistics but the judge now gives ${judgeInputSize()}: retrain it (kiln storybench train-dual)`);
  }
  const embed = (model: tf.LayersModel, input: () => tf.Tensor2D): Float64Array[] => {
    const out = tf.tidy(() => l2(model.predict(input()) as tf.Tensor2D));
    const rows = out.arraySync() as number[][];
    out.dispose();
    return rows.map((r) => Float64Array.from(r));
  };
  return {
    name: 'kiln-dual',
    async embedFrames(f) {
      return embed(video, () => videoInput(Array.from({ length: f.t }, (_, t) => sliceFrames(f, t, t + 1))));
    },
    async embedSegments(segments) {
      return embed(video, () => videoInput(segments));
    },
    async embedTexts(texts) {
      return embed(text, () => textInput(texts, vocab));
    },
  };
}

frameExtractors.register('kiln-judge', () => judgeFrameExtractor, 'the shipped video judge\'s 64-d features of each frame (Kiln\'s story world)');
videoExtractors.register('kiln-judge', () => judgeVideoExtractor, 'the shipped video judge\'s 64-d features of the clip (Kiln\'s story world)');
dualEncoders.register('kiln-dual', () => loadKilnDual(shippedModel('storybench', 'dual')),
  'text-video dual encoder trained contrastively on Kiln\'s stories (models/storybench/dual); embeds whole segments');
