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
import { sliceFrames, toUint8, type Frames } from '../media/index.js';

/** Frames a segment clip is resampled to, and the side of the object-centred crop. */
const JUDGE_FRAMES = 8;
const CROP = 16;
const STATS = 9;
export const JUDGE_INPUT = JUDGE_FRAMES * (CROP * CROP + STATS);

/**
 * Clip -> fixed-size, translation-invariant features. Per frame (8 picked by linspace): the
 * foreground (pixels far from the most common colour) gives area, centroid, spread and mean
 * colour, and a foreground mask cropped around the centroid gives the object's outline.
 */
export function judgeInput(clip: Frames): Float32Array {
  const out = new Float32Array(JUDGE_INPUT);
  const v = toUint8(clip);
  const { w: W, h: H } = v;
  for (let i = 0; i < JUDGE_FRAMES; i++) {
    const t = v.t === 1 ? 0 : Math.round((i * (v.t - 1)) / (JUDGE_FRAMES - 1));
    const px = v.data.subarray(t * H * W * 3, (t + 1) * H * W * 3);
    const counts = new Map<number, number>();
    for (let p = 0; p < H * W; p++) {
      const key = ((px[p * 3] >> 4) << 8) | ((px[p * 3 + 1] >> 4) << 4) | (px[p * 3 + 2] >> 4);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    let bgKey = 0;
    let best = -1;
    for (const [k, n] of counts) if (n > best) [bgKey, best] = [k, n];
    const bg = [((bgKey >> 8) & 15) * 16 + 8, ((bgKey >> 4) & 15) * 16 + 8, (bgKey & 15) * 16 + 8];
    const mask = new Float32Array(H * W);
    let area = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    const rgb = [0, 0, 0];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const d = Math.abs(px[p * 3] - bg[0]) + Math.abs(px[p * 3 + 1] - bg[1]) + Math.abs(px[p * 3 + 2] - bg[2]);
      const m = Math.min(1, Math.max(0, (d - 30) / 60));
      mask[p] = m;
      area += m; sx += m * x; sy += m * y; sxx += m * x * x; syy += m * y * y;
      for (let c = 0; c < 3; c++) rgb[c] += m * px[p * 3 + c];
    }
    const o = i * (CROP * CROP + STATS);
    const a = Math.max(area, 1e-6);
    const cx = sx / a, cy = sy / a;
    const stats = [area / (H * W) * 8, cx / W, cy / H, Math.sqrt(Math.max(0, sxx / a - cx * cx)) / 8, Math.sqrt(Math.max(0, syy / a - cy * cy)) / 8,
      rgb[0] / a / 255, rgb[1] / a / 255, rgb[2] / a / 255, area > 0.5 ? 1 : 0];
    out.set(stats, o);
    const x0 = Math.round(cx) - CROP / 2, y0 = Math.round(cy) - CROP / 2;
    for (let y = 0; y < CROP; y++) for (let x = 0; x < CROP; x++) {
      const yy = y0 + y, xx = x0 + x;
      out[o + STATS + y * CROP + x] = yy >= 0 && yy < H && xx >= 0 && xx < W ? mask[yy * W + xx] : 0;
    }
  }
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

/** Segment clips of freshly generated stories (train and held-out pairs alike). */
export function judgeTrainingClips(count: number, seed: number): LabelledClip[] {
  const rng = createRng(seed);
  const out: LabelledClip[] = [];
  for (let i = 0; out.length < count; i++) {
    const story = sampleStory(rng, `judge_${i}`, { split: i % 3 === 0 ? 'test' : 'train' });
    const video = renderStory(story);
    segmentRanges(story).forEach(([s, e], k) => out.push({ clip: sliceFrames(video, s, e), segment: story.segments[k] }));
  }
  return out.slice(0, count);
}

export function buildJudge(): tf.LayersModel {
  const input = tf.input({ shape: [JUDGE_INPUT] });
  const h = tf.layers.dense({ units: 128, activation: 'relu', name: 'hidden' }).apply(tf.layers.dropout({ rate: 0.1 }).apply(input)) as tf.SymbolicTensor;
  const feat = tf.layers.dense({ units: 64, activation: 'relu', name: 'features' }).apply(h) as tf.SymbolicTensor;
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

function inputs(clips: Frames[]): tf.Tensor2D {
  const data = new Float32Array(clips.length * JUDGE_INPUT);
  clips.forEach((c, i) => data.set(judgeInput(c), i * JUDGE_INPUT));
  return tf.tensor2d(data, [clips.length, JUDGE_INPUT]);
}

export async function trainJudge(clips: LabelledClip[], epochs: number, onEpoch?: (e: number, loss: number) => void): Promise<tf.LayersModel> {
  const full = buildJudge();
  // Train on the classification heads only; the features output is read at inference.
  const model = tf.model({ inputs: full.inputs, outputs: full.outputs.slice(0, 3) });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: ['categoricalCrossentropy', 'categoricalCrossentropy', 'categoricalCrossentropy'] });
  const x = inputs(clips.map((c) => c.clip));
  const y = labels(clips);
  await model.fit(x, y, {
    epochs, batchSize: 64, shuffle: true, verbose: 0,
    callbacks: { onEpochEnd: async (e, logs) => onEpoch?.(e + 1, logs?.loss ?? NaN) },
  });
  tf.dispose([x, ...y]);
  return full;
}

/**
 * The judge's reading of each clip: its action, shape and colour (the most likely class of each head)
 * and its penultimate features.
 */
export function judge(model: tf.LayersModel, clips: Frames[]): JudgeOutput[] {
  if (clips.length === 0) return [];
  const outs = tf.tidy(() => model.predict(inputs(clips)) as tf.Tensor[]);
  const [a, s, c, f] = outs.map((t) => t.arraySync() as number[][]);
  tf.dispose(outs);
  const argmax = (row: number[]) => row.indexOf(Math.max(...row));
  return clips.map((_, i) => ({ action: ACTIONS[argmax(a[i])], shape: SHAPES[argmax(s[i])], colour: COLOUR_NAMES[argmax(c[i])], features: f[i] }));
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
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
    weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
  }));
}
