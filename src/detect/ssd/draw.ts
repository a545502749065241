import { PNG } from 'pngjs';
import { bitmapTextWidth, colorOf, drawBitmapText, fillRect, GLYPH_HEIGHT, hexRgb, type RgbaImage } from '../../report/index.js';
import type { BoxXywh, Category, Detection } from '../types.js';
import type { ImageInput } from './detector.js';

/**
 * A PNG of one image with its detections: the image scaled up (nearest pixel) so small scenes stay
 * readable, each box outlined in its category's colour with a label "name 0.87" on a strip of
 * that colour, and optionally the ground-truth boxes as thin white outlines.
 */
export interface DetectionsPngOptions {
  /** Pixels per image pixel (default: what makes the longer side about 384). */
  zoom?: number;
  truth?: readonly BoxXywh[];
}

function outline(img: RgbaImage, [x, y, w, h]: BoxXywh, zoom: number, width: number, c: readonly number[]): void {
  const [x0, y0, x1, y1] = [Math.round(x * zoom), Math.round(y * zoom), Math.round((x + w) * zoom), Math.round((y + h) * zoom)];
  fillRect(img, x0, y0, x1, y0 + width, c);
  fillRect(img, x0, y1 - width, x1, y1, c);
  fillRect(img, x0, y0, x0 + width, y1, c);
  fillRect(img, x1 - width, y0, x1, y1, c);
}

export function detectionsPng(image: ImageInput, detections: readonly Detection[], categories: readonly Category[], o: DetectionsPngOptions = {}): Buffer {
  const zoom = o.zoom ?? Math.max(1, Math.round(384 / Math.max(image.width, image.height)));
  const png = new PNG({ width: image.width * zoom, height: image.height * zoom });
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const src = (Math.floor(y / zoom) * image.width + Math.floor(x / zoom)) * 3;
      const px = [0, 1, 2].map((k) => Math.round(255 * Math.min(1, Math.max(0, image.pixels[src + k]))));
      png.data.set([px[0], px[1], px[2], 255], (y * png.width + x) * 4);
    }
  }
  for (const box of o.truth ?? []) outline(png, box, zoom, 1, [255, 255, 255]);
  const index = new Map(categories.map((c, i) => [c.id, i]));
  // Lowest score first, so the most confident boxes and labels end up on top.
  for (const d of [...detections].sort((a, b) => a.score - b.score)) {
    const i = index.get(d.categoryId) ?? categories.length;
    const color = hexRgb(colorOf(i));
    outline(png, d.box, zoom, 2, color);
    const label = `${categories[i]?.name ?? d.categoryId} ${d.score.toFixed(2)}`;
    const lx = Math.round(d.box[0] * zoom);
    const top = Math.round(d.box[1] * zoom);
    // Above the box, or inside it at the image's top edge.
    const ly = top - GLYPH_HEIGHT - 3 >= 0 ? top - GLYPH_HEIGHT - 3 : top + 2;
    fillRect(png, lx, ly, lx + bitmapTextWidth(label) + 3, ly + GLYPH_HEIGHT + 2, color);
    drawBitmapText(png, label, lx + 2, ly + 1, { color: [255, 255, 255] });
  }
  return PNG.sync.write(png);
}
