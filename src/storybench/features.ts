import fs from 'node:fs';
import { KilnError, createRegistry } from '../core/index.js';
import { type Frames, frameSize, pickFrames, resizeFrames, toUint8 } from '../media/index.js';
import { createOnnxSession, type OnnxSession } from '../nn/index.js';

/**
 * Feature extractors behind the distribution metrics. FID-style metrics embed every frame, FVD-style
 * metrics embed a whole clip. Built-in extractors are simple colour/motion statistics (fast, no
 * model, fine for smoke tests and toy data, not comparable to published numbers); a user's ONNX
 * export of Inception / I3D / CLIP is loaded by giving its path instead of a name.
 *
 * ONNX contract: a frame model takes float32 [N, H, W, 3] RGB in [0, 1] and returns [N, D, ...];
 * a video model takes float32 [N, T, H, W, 3] in [0, 1] and returns [N, D, ...]. When the model
 * declares fixed H and W, frames are resized (bilinear, no crop) to them; symbolic dims take
 * frames as they are.
 */
export interface FrameExtractor {
  name: string;
  embedFrames(f: Frames): Promise<Float64Array[]>;
}

export interface VideoExtractor {
  name: string;
  /** Trained on single-action clips: FVD embeds each prompt's segment as it is, not the whole resampled clip. */
  perSegment?: boolean;
  embedVideo(f: Frames): Promise<Float64Array>;
}

// ---- reference frame handling for I3D-style video models -----------------------------------------

/** np.linspace(start, stop, num) cast to int, with numpy's exact arithmetic (i * step + start). */
export function linspaceInt(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [Math.trunc(start)];
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => Math.trunc(i === num - 1 ? stop : i * step + start));
}

/**
 * metrics/fvd_i3d.py: a clip shorter than 9 frames has each frame repeated (1 -> 9x, 2 -> 5x,
 * 3-4 -> 3x, 5-8 -> 2x); then frames are subsampled by linspace to the largest multiple of 9.
 */
export function i3dFrameIndices(t: number): number[] {
  const repeats = [0, 9, 5, 3, 3, 2, 2, 2, 2];
  if (t < 1) throw new KilnError('cannot embed an empty clip');
  const rep = t < 9 ? repeats[t] : 1;
  const expanded = Array.from({ length: t * rep }, (_, i) => Math.floor(i / rep));
  const T = expanded.length;
  return linspaceInt(0, T - 1, Math.floor(T / 9) * 9).map((i) => expanded[i]);
}

export function i3dFrames(f: Frames): Frames {
  return pickFrames(f, i3dFrameIndices(f.t));
}

// ---- built-in extractors -----------------------------------------------------------------------

/** Per-cell channel means over a g x g grid of each frame, scaled to [0, 1]. */
function gridMeans(f: Frames, t: number, g: number): number[] {
  const n = frameSize(f);
  const out = new Array<number>(g * g * f.c).fill(0);
  const counts = new Array<number>(g * g).fill(0);
  for (let y = 0; y < f.h; y++) {
    const gy = Math.min(g - 1, Math.floor((y * g) / f.h));
    for (let x = 0; x < f.w; x++) {
      const cell = gy * g + Math.min(g - 1, Math.floor((x * g) / f.w));
      counts[cell]++;
      for (let c = 0; c < f.c; c++) out[cell * f.c + c] += f.data[t * n + (y * f.w + x) * f.c + c];
    }
  }
  return out.map((v, i) => v / Math.max(1, counts[Math.floor(i / f.c)]) / 255);
}

const gridColor: FrameExtractor = {
  name: 'grid-color',
  async embedFrames(f) {
    const u = toUint8(f);
    return Array.from({ length: u.t }, (_, t) => Float64Array.from(gridMeans(u, t, 4)));
  },
};

const gridMotion: VideoExtractor = {
  name: 'grid-motion',
  async embedVideo(f) {
    const u = toUint8(f);
    const cells = Array.from({ length: u.t }, (_, t) => gridMeans(u, t, 2));
    const d = cells[0].length;
    const mean = new Float64Array(d);
    const motion = new Float64Array(d);
    cells.forEach((c, t) => {
      for (let i = 0; i < d; i++) {
        mean[i] += c[i] / u.t;
        if (t > 0) motion[i] += Math.abs(c[i] - cells[t - 1][i]) / Math.max(1, u.t - 1);
      }
    });
    return Float64Array.from([...mean, ...motion]);
  },
};

export const frameExtractors = createRegistry<() => FrameExtractor>('frame feature extractor');
frameExtractors.register('grid-color', () => gridColor, '4x4 grid of mean RGB per frame (48-d); no model, toy data only');
export const videoExtractors = createRegistry<() => VideoExtractor>('video feature extractor');
videoExtractors.register('grid-motion', () => gridMotion, '2x2 grid mean RGB and mean absolute frame difference (24-d); no model, toy data only');

// ---- ONNX models ---------------------------------------------------------------------------------

export interface OnnxModel {
  session: OnnxSession;
  input: string;
  shape: ReadonlyArray<number | string>;
}

export async function loadOnnx(file: string, what: string): Promise<OnnxModel> {
  if (!fs.existsSync(file)) throw new KilnError(`${what}: ONNX model not found: ${file}`);
  let session: OnnxSession;
  try {
    session = await createOnnxSession(file);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    throw new KilnError(`${what}: cannot load ONNX model ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  return { session, input: session.inputNames[0], shape: session.inputShape };
}

export async function runOnnx(model: OnnxModel, data: Float32Array | BigInt64Array, dims: number[]): Promise<Float64Array[]> {
  const result = await model.session.run({ [model.input]: { data, dims } });
  const out = result[model.session.outputNames[0]];
  const values = out.data as Float32Array;
  const rows = out.dims[0];
  const d = values.length / rows;
  return Array.from({ length: rows }, (_, i) => Float64Array.from(values.subarray(i * d, (i + 1) * d)));
}

/** Fixed spatial size declared by the model at dims [hAxis, hAxis+1], if any. */
function fixedSize(shape: ReadonlyArray<number | string>, hAxis: number): [number, number] | null {
  const h = shape[hAxis];
  const w = shape[hAxis + 1];
  return typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 ? [h, w] : null;
}

function toUnitFloat(f: Frames): Float32Array {
  const u = toUint8(f).data;
  const out = new Float32Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = u[i] / 255;
  return out;
}

export async function onnxFrameExtractor(file: string, batch = 32): Promise<FrameExtractor> {
  const model = await loadOnnx(file, 'frame feature model');
  const size = fixedSize(model.shape, 1);
  return {
    name: `onnx:${file}`,
    async embedFrames(f) {
      const clip = size ? resizeFrames(f, size[0], size[1]) : f;
      const out: Float64Array[] = [];
      const n = frameSize(clip);
      const all = toUnitFloat(clip);
      for (let s = 0; s < clip.t; s += batch) {
        const e = Math.min(clip.t, s + batch);
        out.push(...(await runOnnx(model, all.subarray(s * n, e * n), [e - s, clip.h, clip.w, clip.c])));
      }
      return out;
    },
  };
}

export async function onnxVideoExtractor(file: string): Promise<VideoExtractor> {
  const model = await loadOnnx(file, 'video feature model');
  const size = fixedSize(model.shape, 2);
  return {
    name: `onnx:${file}`,
    async embedVideo(f) {
      const clip = size ? resizeFrames(f, size[0], size[1]) : f;
      const [row] = await runOnnx(model, toUnitFloat(clip), [1, clip.t, clip.h, clip.w, clip.c]);
      return row;
    },
  };
}

const looksLikeFile = (spec: string) => spec.endsWith('.onnx') || spec.includes('/');

/** A registered name, or a path to an ONNX model. */
export async function resolveFrameExtractor(spec: string): Promise<FrameExtractor> {
  return looksLikeFile(spec) ? onnxFrameExtractor(spec) : frameExtractors.get(spec)();
}

export async function resolveVideoExtractor(spec: string): Promise<VideoExtractor> {
  return looksLikeFile(spec) ? onnxVideoExtractor(spec) : videoExtractors.get(spec)();
}
