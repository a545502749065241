/**
 * The judge: a small classifier, trained separately on generated-world data (its own seed, both
 * splits, so it has seen every object/action pair), that reads a segment clip and names its action,
 * the acting object's shape and its colour. Its penultimate features feed the Frechet distance.
 * Saved as a standard tfjs LayersModel (model.json + weights.bin).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng, KilnError } from '../core/index.js';
import { ensureBackend, tf } from '../backend/index.js';
import { ACTIONS, COLOUR_NAMES, renderStory, sampleStory, segmentRanges, SHAPES, type Segment } from './world.js';
import { sliceFrames, type Frames } from '../media/index.js';
import { COND_FRAMES } from './dataset.js';
import { wilson } from '../math/index.js';
import { MIN_AREA, trackActor, type TrackFrame } from './measures.js';

/** Frames a segment clip is resampled to, the side of the object-centred coverage crops, and numbers per frame. */
const JUDGE_FRAMES = 8;
const CROP = 16;
const PER_FRAME = 14 + COLOUR_NAMES.length;
const SHAPE_STATS = 9;
export const JUDGE_INPUT = JUDGE_FRAMES * PER_FRAME + SHAPE_STATS + 2 * CROP * CROP;

/**
 * The soft outline numbers (fill, reach, spread), reach and spread shifted and scaled so that a circle
 * reads about 0 and a triangle about 1: the gaps between shapes are small in the raw numbers.
 */
function shapeStats(f: TrackFrame): number[] {
  return f.area > 0 ? [f.outline[0], (f.outline[1] - 0.56) * 4, (f.outline[2] - 0.159) * 30] : [0, 0, 0];
}

/**
 * Clip -> fixed-size features built on the judge-free track of the acting object (see measures.ts),
 * so a second, still object does not blur what the actor is. Per frame (8 picked by linspace):
 * visible, area, centroid travel since the first visible frame, box size, reach, the soft outline
 * numbers, core colour, contrast and the palette colour; then the outline numbers of the first,
 * largest and last visible frames, and the actor's coverage cropped around its centroid in the
 * largest and the first visible frame.
 */
export function judgeInput(clip: Frames): Float32Array {
  const out = new Float32Array(JUDGE_INPUT);
  const track = trackActor(clip);
  const seen = track.filter((f) => f.area >= MIN_AREA);
  const ref = seen[0];
  for (let i = 0; i < JUDGE_FRAMES; i++) {
    const f = track[track.length === 1 ? 0 : Math.round((i * (track.length - 1)) / (JUDGE_FRAMES - 1))];
    const on = f.area >= MIN_AREA;
    const o = i * PER_FRAME;
    if (!on) continue;
    out.set([1, f.area / 64, (f.cx - ref.cx) / 8, (f.cy - ref.cy) / 8, f.w / 8, f.h / 8, f.radius / 8, ...shapeStats(f),
      f.rgb[0] / 255, f.rgb[1] / 255, f.rgb[2] / 255, f.contrast / 765], o);
    out[o + 14 + COLOUR_NAMES.indexOf(f.colour)] = 1;
  }
  if (!seen.length) return out;
  const largest = seen.reduce((b, f) => (f.area > b.area ? f : b));
  out.set([...shapeStats(seen[0]), ...shapeStats(largest), ...shapeStats(seen[seen.length - 1])], JUDGE_FRAMES * PER_FRAME);
  const { w: W, h: H } = clip;
  [largest, seen[0]].forEach((f, k) => {
    const x0 = Math.round(f.cx) - CROP / 2, y0 = Math.round(f.cy) - CROP / 2;
    const base = JUDGE_FRAMES * PER_FRAME + SHAPE_STATS + k * CROP * CROP;
    for (let y = 0; y < CROP; y++) for (let x = 0; x < CROP; x++) {
      const yy = y0 + y, xx = x0 + x;
      out[base + y * CROP + x] = yy >= 0 && yy < H && xx >= 0 && xx < W ? f.cover[yy * W + xx] : 0;
    }
  });
  return out;
}

export interface JudgeOutput {
  action: string;
  shape: string;
  colour: string;
  features: number[];
}

/**
 * A segment clip and what it shows: the action, shape and colour the judge learns to name.
 *
 * @inline
 */
export interface LabelledClip {
  clip: Frames;
  segment: Pick<Segment, 'action' | 'shape' | 'colour'>;
}

/**
 * Segment clips of freshly generated stories (train and held-out pairs alike). The first segment
 * comes twice: whole, and without its first COND_FRAMES frames as `kiln video eval` scores it.
 */
export function judgeTrainingClips(count: number, seed: number): LabelledClip[] {
  const rng = createRng(seed);
  const out: LabelledClip[] = [];
  for (let i = 0; out.length < count; i++) {
    const story = sampleStory(rng, `judge_${i}`, { split: i % 3 === 0 ? 'test' : 'train' });
    const video = renderStory(story);
    segmentRanges(story).forEach(([s, e], k) => {
      out.push({ clip: sliceFrames(video, s, e), segment: story.segments[k] });
      if (k === 0) out.push({ clip: sliceFrames(video, COND_FRAMES, e), segment: story.segments[k] });
    });
  }
  return out.slice(0, count);
}

export function buildJudge(): tf.LayersModel {
  const input = tf.input({ shape: [JUDGE_INPUT] });
  const h = tf.layers.dense({ units: 128, activation: 'relu', name: 'hidden' }).apply(input) as tf.SymbolicTensor;
  const feat = tf.layers.dense({ units: 64, activation: 'relu', name: 'features' }).apply(tf.layers.dropout({ rate: 0.1 }).apply(h)) as tf.SymbolicTensor;
  const heads = [['action', ACTIONS.length], ['shape', SHAPES.length], ['colour', COLOUR_NAMES.length]] as const;
  const outputs = heads.map(([name, n]) => tf.layers.dense({ units: n, activation: 'softmax', name }).apply(feat) as tf.SymbolicTensor);
  return tf.model({ inputs: input, outputs: [...outputs, feat] });
}

function labels(clips: LabelledClip[]): tf.Tensor[] {
  return [
    tf.oneHot(clips.map((c) => ACTIONS.indexOf(c.segment.action)), ACTIONS.length),
    tf.oneHot(clips.map((c) => SHAPES.indexOf(c.segment.shape)), SHAPES.length),
    tf.oneHot(clips.map((c) => COLOUR_NAMES.indexOf(c.segment.colour)), COLOUR_NAMES.length),
  ];
}

/**
 * The box the judge's inputs are clamped to for feature extraction: per input, the 0.1st and 99.9th
 * percentiles of its values on the judge's training clips. Some inputs have no natural bound (the
 * outline's scaled second moment is 0-1.3 for a solid shape but reaches hundreds on a few faint
 * scattered pixels, as when an object fades out), and a ReLU network extrapolates linearly beyond
 * what it saw, so one such clip can dominate a Frechet distance of its features. Percentiles, not the
 * extremes: the largest training values of such an input are rare and unstable (on the first 2000 of
 * the 8000 shipped training clips the per-frame maxima are 24-66; on all 8000, 43-278).
 */
export interface JudgeInputRange {
  lo: number[];
  hi: number[];
}

export const JUDGE_RANGE_QUANTILE = 0.001;

export function judgeInputRange(clips: Frames[]): JudgeInputRange {
  const rows = clips.map(judgeInput);
  const at = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const lo: number[] = [];
  const hi: number[] = [];
  for (let d = 0; d < JUDGE_INPUT; d++) {
    const sorted = Float64Array.from(rows, (r) => r[d]).sort();
    lo.push(at(sorted, JUDGE_RANGE_QUANTILE));
    hi.push(at(sorted, 1 - JUDGE_RANGE_QUANTILE));
  }
  return { lo, hi };
}

const RANGE_FILE = 'input-range.json';

export function saveJudgeInputRange(dir: string, range: JudgeInputRange): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, RANGE_FILE), JSON.stringify(range));
}

/** The input range saved next to a judge by `kiln video train-judge`. */
export function loadJudgeInputRange(dir: string): JudgeInputRange {
  const file = path.join(dir, RANGE_FILE);
  if (!fs.existsSync(file)) throw new KilnError(`no ${RANGE_FILE} next to the judge at ${dir} (retrain it with 'kiln video train-judge')`);
  const range = JSON.parse(fs.readFileSync(file, 'utf8')) as JudgeInputRange;
  if (range.lo?.length !== JUDGE_INPUT || range.hi?.length !== JUDGE_INPUT) throw new KilnError(`${file} does not hold ${JUDGE_INPUT} input bounds (retrain the judge with 'kiln video train-judge')`);
  return range;
}

function inputs(clips: Frames[], range?: JudgeInputRange): tf.Tensor2D {
  const data = new Float32Array(clips.length * JUDGE_INPUT);
  clips.forEach((c, i) => {
    const x = judgeInput(c);
    if (range) x.forEach((v, d) => (x[d] = Math.min(range.hi[d], Math.max(range.lo[d], v))));
    data.set(x, i * JUDGE_INPUT);
  });
  return tf.tensor2d(data, [clips.length, JUDGE_INPUT]);
}

export async function trainJudge(clips: LabelledClip[], epochs: number, onEpoch?: (e: number, loss: number) => void): Promise<tf.LayersModel> {
  const full = buildJudge();
  // Train on the classification heads only; the features output is read at inference.
  const model = tf.model({ inputs: full.inputs, outputs: full.outputs.slice(0, 3) });
  model.compile({ optimizer: tf.train.adam(3e-3), loss: ['categoricalCrossentropy', 'categoricalCrossentropy', 'categoricalCrossentropy'] });
  const x = inputs(clips.map((c) => c.clip));
  const y = labels(clips);
  await model.fit(x, y, {
    epochs, batchSize: 256, shuffle: true, verbose: 0,
    callbacks: { onEpochEnd: async (e, logs) => onEpoch?.(e + 1, logs?.loss ?? NaN) },
  });
  tf.dispose([x, ...y]);
  return full;
}

/**
 * The judge's reading of each clip: its action, shape and colour (the most likely class of each head)
 * and its penultimate features; with `range`, of the clip's inputs clamped to it.
 */
export function judge(model: tf.LayersModel, clips: Frames[], range?: JudgeInputRange): JudgeOutput[] {
  if (clips.length === 0) return [];
  const outs = tf.tidy(() => model.predict(inputs(clips, range)) as tf.Tensor[]);
  const [a, s, c, f] = outs.map((t) => t.arraySync() as number[][]);
  tf.dispose(outs);
  const argmax = (row: number[]) => row.indexOf(Math.max(...row));
  return clips.map((_, i) => ({ action: ACTIONS[argmax(a[i])], shape: SHAPES[argmax(s[i])], colour: COLOUR_NAMES[argmax(c[i])], features: f[i] }));
}

/** Heads the judge names, in JudgeOutput's field names. */
export const JUDGE_HEADS = ['action', 'shape', 'colour'] as const;

/** Accuracy of each head on labelled clips, as a 95% Wilson interval over clips. */
export function judgeAccuracy(model: tf.LayersModel, clips: LabelledClip[]): Record<(typeof JUDGE_HEADS)[number], ReturnType<typeof wilson> & { correct: number; n: number }> {
  const read = judge(model, clips.map((c) => c.clip));
  return Object.fromEntries(JUDGE_HEADS.map((head) => {
    const correct = read.filter((r, i) => r[head] === clips[i].segment[head]).length;
    return [head, { ...wilson(correct, clips.length), correct, n: clips.length }];
  })) as ReturnType<typeof judgeAccuracy>;
}

export async function saveJudge(dir: string, model: tf.LayersModel): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (art) => {
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(art.weightData as ArrayBuffer));
    const json = { modelTopology: art.modelTopology, format: 'layers-model', generatedBy: 'kiln video judge', weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }] };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
}

/** Loads a judge saved by `saveJudge` (Kiln ships one in models/video/judge). */
export async function loadJudge(dir: string): Promise<tf.LayersModel> {
  await ensureBackend();
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) throw new KilnError(`no judge checkpoint at ${dir} (run 'kiln video eval' with --train-judge)`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const buf = fs.readFileSync(path.join(dir, 'weights.bin'));
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
    weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
  }));
  // A judge trained on other features would fail only after a whole evaluation's generation.
  const inputs = model.inputs[0].shape[1];
  if (inputs !== JUDGE_INPUT) throw new KilnError(`the judge at ${dir} reads ${inputs} features per clip, this Kiln makes ${JUDGE_INPUT} (retrain it with 'kiln video train-judge')`);
  return model;
}
