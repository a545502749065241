/** Cutting fixed-length clips out of frame arrays and batching them as tensors. */
import { tf } from '../backend/index.js';
import { toUint8, type Frames } from '../media/index.js';

/** Frames [start, start+len) of `video`; frames past the end repeat the last one. */
export function clip(video: Frames, start: number, len: number): Uint8Array {
  const fsz = video.h * video.w * 3;
  const out = new Uint8Array(len * fsz);
  for (let i = 0; i < len; i++) {
    const f = Math.min(video.t - 1, Math.max(0, start + i));
    out.set(toUint8(video).data.subarray(f * fsz, (f + 1) * fsz), i * fsz);
  }
  return out;
}

/** uint8 clips of equal length -> float tensor [B, T, H, W, 3] in [-1, 1]. */
export function clipBatch(clips: Uint8Array[], frames: number, size: number): tf.Tensor {
  const n = clips[0].length;
  const data = new Float32Array(clips.length * n);
  clips.forEach((c, b) => {
    for (let i = 0; i < n; i++) data[b * n + i] = c[i] / 127.5 - 1;
  });
  return tf.tensor(data, [clips.length, frames, size, size, 3]);
}

/**
 * Per-pixel reconstruction weights [B, T, H, W, 1] for uint8 clips: 1 on the background, `weight`
 * where a pixel differs from the clip's background colour (the most common colour of its first
 * frame). Objects cover a few percent of a frame, so a plain MSE lets a tokenizer blur shape and
 * colour away; weighting the foreground is a cheap stand-in for Phenaki's perceptual loss.
 */
export function foregroundWeights(clips: Uint8Array[], frames: number, size: number, weight: number): tf.Tensor {
  const pixels = frames * size * size;
  const out = new Float32Array(clips.length * pixels);
  clips.forEach((c, b) => {
    const bg = modeColour(c.subarray(0, size * size * 3));
    for (let p = 0; p < pixels; p++) {
      const d = Math.abs(c[p * 3] - bg[0]) + Math.abs(c[p * 3 + 1] - bg[1]) + Math.abs(c[p * 3 + 2] - bg[2]);
      out[b * pixels + p] = d > 24 ? weight : 1;
    }
  });
  return tf.tensor(out, [clips.length, frames, size, size, 1]);
}

/** Most common RGB value of one frame. */
function modeColour(frame: Uint8Array): [number, number, number] {
  const counts = new Map<number, number>();
  let best = 0;
  let bestKey = 0;
  for (let p = 0; p < frame.length; p += 3) {
    const key = (frame[p] << 16) | (frame[p + 1] << 8) | frame[p + 2];
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n > best) [best, bestKey] = [n, key];
  }
  return [(bestKey >> 16) & 255, (bestKey >> 8) & 255, bestKey & 255];
}
