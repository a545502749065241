import { createRequire } from 'node:module';
import { check } from '../core/index.js';
import { toUint8, type Frames } from './frames.js';

/** The part of gifenc (CommonJS, untyped) that Kiln uses. */
interface Gifenc {
  GIFEncoder(): {
    writeFrame(index: Uint8Array, width: number, height: number, opts: { palette: number[][]; delay: number }): void;
    finish(): void;
    bytes(): Uint8Array;
  };
  quantize(rgba: Uint8Array, maxColors: number): number[][];
  applyPalette(rgba: Uint8Array, palette: number[][]): Uint8Array;
}
const gifenc = createRequire(import.meta.url)('gifenc') as Gifenc;

export interface GifOptions {
  /** Frames per second (default 8, the rate of Kiln's stories and StoryBench). */
  fps?: number;
  /** Whole-pixel enlargement (nearest neighbour, so small frames stay crisp). */
  scale?: number;
  /** Instead of `scale`: the smallest enlargement that makes the GIF at least this tall. */
  minHeight?: number;
}

/** An animated GIF of an RGB clip; one palette per frame keeps colours faithful. */
export function encodeGif(clip: Frames, o: GifOptions = {}): Uint8Array {
  check(clip.c === 3, `a GIF needs RGB frames, got ${clip.c} channels`);
  const scale = o.scale ?? (o.minHeight ? Math.max(1, Math.ceil(o.minHeight / clip.h)) : 1);
  check(Number.isInteger(scale) && scale >= 1, `GIF scale must be a positive integer, got ${scale}`);
  const fps = o.fps ?? 8;
  const src = toUint8(clip).data;
  const h = clip.h * scale;
  const w = clip.w * scale;
  const enc = gifenc.GIFEncoder();
  const rgba = new Uint8Array(h * w * 4);
  const n = clip.h * clip.w * 3;
  for (let t = 0; t < clip.t; t++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = t * n + (Math.floor(y / scale) * clip.w + Math.floor(x / scale)) * 3;
        const d = (y * w + x) * 4;
        rgba[d] = src[s];
        rgba[d + 1] = src[s + 1];
        rgba[d + 2] = src[s + 2];
        rgba[d + 3] = 255;
      }
    }
    const palette = gifenc.quantize(rgba, 256);
    enc.writeFrame(gifenc.applyPalette(rgba, palette), w, h, { palette, delay: Math.round(1000 / fps) });
  }
  enc.finish();
  return enc.bytes();
}
