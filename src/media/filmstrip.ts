import { PNG } from 'pngjs';
import { check } from '../core/index.js';
import { toUint8, type Frames } from './frames.js';

/**
 * A clip as one PNG with the frames stacked top to bottom at their own size: a page can draw any
 * frame on a canvas (play, pause, step, scrub), which an animated GIF does not allow, and the
 * colours stay exact (no palette).
 */
export function filmstripPng(clip: Frames): Buffer {
  check(clip.c === 3, `a filmstrip needs RGB frames, got ${clip.c} channels`);
  const src = toUint8(clip).data;
  const png = new PNG({ width: clip.w, height: clip.h * clip.t });
  for (let p = 0, q = 0; p < src.length; p += 3, q += 4) {
    png.data[q] = src[p];
    png.data[q + 1] = src[p + 1];
    png.data[q + 2] = src[p + 2];
    png.data[q + 3] = 255;
  }
  return PNG.sync.write(png);
}
