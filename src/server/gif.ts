import { createRequire } from 'node:module';
import type { Frames } from '../storybench/index.js';

/** The part of gifenc (CommonJS, untyped) that Kiln uses. */
interface GifEncoder {
  writeFrame(index: Uint8Array, width: number, height: number, opts: { palette: number[][]; delay: number }): void;
  finish(): void;
  bytes(): Uint8Array;
}
interface Gifenc {
  GIFEncoder(): GifEncoder;
  quantize(rgba: Uint8Array, maxColors: number): number[][];
  applyPalette(rgba: Uint8Array, palette: number[][]): Uint8Array;
}
const gifenc = createRequire(import.meta.url)('gifenc') as Gifenc;

/**
 * An animated GIF of a clip at `fps`, enlarged by whole pixels so small videos are visible
 * (at least `minHeight` tall). One palette per frame keeps colours faithful.
 */
export function clipToGif(clip: Frames, fps = 8, minHeight = 160): Uint8Array {
  const scale = Math.max(1, Math.ceil(minHeight / clip.h));
  const h = clip.h * scale;
  const w = clip.w * scale;
  const enc = gifenc.GIFEncoder();
  const rgba = new Uint8Array(h * w * 4);
  const n = clip.h * clip.w * clip.c;
  for (let t = 0; t < clip.t; t++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = t * n + (Math.floor(y / scale) * clip.w + Math.floor(x / scale)) * clip.c;
        const dst = (y * w + x) * 4;
        for (let c = 0; c < 3; c++) rgba[dst + c] = Math.max(0, Math.min(255, Math.round(clip.data[src + c])));
        rgba[dst + 3] = 255;
      }
    }
    const palette = gifenc.quantize(rgba, 256);
    enc.writeFrame(gifenc.applyPalette(rgba, palette), w, h, { palette, delay: Math.round(1000 / fps) });
  }
  enc.finish();
  return enc.bytes();
}
