/**
 * Pictures of boxes on images: a grid of panels, each image scaled up, every box outlined in its category's colour
 * with a label (category name, and a score for predictions) in Kiln's bitmap font. Used for dataset previews and
 * for predicted boxes.
 */
import { PNG } from 'pngjs';
import { check } from '../../core/index.js';
import { bitmapTextWidth, colorOf, drawBitmapText, fillRect, GLYPH_HEIGHT, hexRgb, type RgbaImage } from '../../report/index.js';
import type { BoxXywh, Category, DetectionImage } from '../types.js';

export interface LabelledBox {
  box: BoxXywh;
  categoryId: number;
  /** Shown after the category name, e.g. a score. */
  note?: string;
}

export interface BoxPanel {
  height: number;
  width: number;
  /** Row-major height x width x 3 in [0, 1]. */
  pixels: Float32Array;
  boxes: LabelledBox[];
}

export interface BoxGridOptions {
  /** Pixel magnification (default 4). */
  scale?: number;
  /** Panels per row (default up to 4). */
  columns?: number;
}

const GAP = 6;
const LINE = 2;

/** A PNG grid of panels with their boxes outlined and labelled. */
export function boxGridPng(panels: readonly BoxPanel[], categories: readonly Category[], opts: BoxGridOptions = {}): Buffer {
  check(panels.length > 0, 'no images to draw');
  const scale = opts.scale ?? 4;
  const columns = Math.min(panels.length, opts.columns ?? 4);
  const cellW = Math.max(...panels.map((p) => p.width)) * scale;
  const cellH = Math.max(...panels.map((p) => p.height)) * scale;
  const rows = Math.ceil(panels.length / columns);
  const png = new PNG({ width: columns * (cellW + GAP) + GAP, height: rows * (cellH + GAP) + GAP });
  png.data.fill(255);
  const catIndex = new Map(categories.map((c, i) => [c.id, i]));
  panels.forEach((p, k) => {
    const left = GAP + (k % columns) * (cellW + GAP);
    const top = GAP + Math.floor(k / columns) * (cellH + GAP);
    for (let y = 0; y < p.height * scale; y++) {
      for (let x = 0; x < p.width * scale; x++) {
        const s = (Math.floor(y / scale) * p.width + Math.floor(x / scale)) * 3;
        const o = ((top + y) * png.width + left + x) * 4;
        for (let c = 0; c < 3; c++) png.data[o + c] = Math.round(255 * Math.min(1, Math.max(0, p.pixels[s + c])));
        png.data[o + 3] = 255;
      }
    }
    // The panel is a view into the grid, so boxes and labels are clipped to their own image.
    const view: RgbaImage = { width: png.width, height: png.height, data: png.data };
    for (const b of p.boxes) {
      const i = catIndex.get(b.categoryId) ?? 0;
      const rgb = hexRgb(colorOf(i));
      const clampX = (v: number) => Math.min(left + p.width * scale, Math.max(left, Math.round(left + v * scale)));
      const clampY = (v: number) => Math.min(top + p.height * scale, Math.max(top, Math.round(top + v * scale)));
      const [x0, y0, x1, y1] = [clampX(b.box[0]), clampY(b.box[1]), clampX(b.box[0] + b.box[2]), clampY(b.box[1] + b.box[3])];
      fillRect(view, x0, y0, x1, y0 + LINE, rgb);
      fillRect(view, x0, y1 - LINE, x1, y1, rgb);
      fillRect(view, x0, y0, x0 + LINE, y1, rgb);
      fillRect(view, x1 - LINE, y0, x1, y1, rgb);
      const text = `${categories[i]?.name ?? b.categoryId}${b.note ? ` ${b.note}` : ''}`;
      const tw = bitmapTextWidth(text) + 2;
      const ty = y0 - GLYPH_HEIGHT - 2 >= top ? y0 - GLYPH_HEIGHT - 2 : y0;
      const tx = Math.min(x0, left + p.width * scale - tw);
      fillRect(view, tx, ty, tx + tw, ty + GLYPH_HEIGHT + 2, rgb);
      const light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 150;
      drawBitmapText(view, text, tx + 1, ty + 1, { color: light ? [0, 0, 0] : [255, 255, 255] });
    }
  });
  return PNG.sync.write(png);
}

/** A preview of dataset images with their ground-truth boxes. */
export function datasetPreviewPng(images: readonly DetectionImage[], categories: readonly Category[], opts: BoxGridOptions = {}): Buffer {
  return boxGridPng(images.map((im) => ({
    height: im.height, width: im.width, pixels: im.pixels,
    boxes: im.boxes.map((box, j) => ({ box, categoryId: im.categoryIds[j], note: im.crowd?.[j] ? 'crowd' : undefined })),
  })), categories, opts);
}
