import fs from 'node:fs';
import { PNG } from 'pngjs';
import { KilnError } from '../core/index.js';
import { bitmapTextHeight, bitmapTextWidth, bitmapWordsFit, drawBitmapText, wrapBitmapText } from '../report/index.js';

/**
 * Heatmaps and PNG grids. A relevance map is summed over channels and scaled by its largest
 * magnitude, then drawn with a diverging blue-white-red map: red = evidence for the explained
 * output, blue = against, white = none.
 */

/**
 * An RGB colour, 0-255 per channel.
 *
 * @inline
 */
export type Rgb = [number, number, number];

/** One tile of a grid: height x width RGB pixels. */
export interface Tile {
  height: number;
  width: number;
  rgb: Uint8Array;
}

/** Blue (-1) - white (0) - red (+1). */
export function diverging(v: number): Rgb {
  const t = Math.max(-1, Math.min(1, v));
  const fade = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

function channelSum(values: ArrayLike<number>, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += values[p * channels + c];
    out[p] = s;
  }
  return out;
}

/** A relevance map [h, w, c] (flat, channels last) as a heatmap tile. */
export function heatmapTile(relevance: ArrayLike<number>, height: number, width: number, channels: number): Tile {
  const r = channelSum(relevance, height * width, channels);
  let max = 0;
  for (const v of r) max = Math.max(max, Math.abs(v));
  const rgb = new Uint8Array(height * width * 3);
  for (let p = 0; p < r.length; p++) rgb.set(diverging(max > 0 ? r[p] / max : 0), p * 3);
  return { height, width, rgb };
}

/** An input image [h, w, 1 or 3] (flat), min-max scaled to 0..255. */
export function imageTile(values: ArrayLike<number>, height: number, width: number, channels: number): Tile {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const span = hi > lo ? hi - lo : 1;
  const rgb = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    for (let k = 0; k < 3; k++) {
      const c = channels === 3 ? k : 0;
      rgb[p * 3 + k] = Math.round((255 * (values[p * channels + c] - lo)) / span);
    }
  }
  return { height, width, rgb };
}

export interface GridOptions {
  /** Pixel magnification of the tiles (nearest neighbour; default 4). */
  scale?: number;
  /** Grey pixels between tiles and around the grid (default 4). */
  gap?: number;
  /** Text above each column, wrapped to the column width. */
  columnLabels?: readonly string[];
  /** Text left of each row, one line per '\n'. */
  rowLabels?: readonly string[];
  /** Magnification of the label font (default 2 from scale 4 up when every word fits a column, else 1). */
  labelScale?: number;
}

const LABEL_INK = [30, 30, 30] as const;

/**
 * Rows of tiles as one PNG, each tile scaled up `scale` times (nearest neighbour), on a grey
 * background; optional labels in a band above the columns and a band left of the rows.
 */
export function gridPng(rows: Tile[][], opts: GridOptions = {}): Buffer {
  const scale = opts.scale ?? 4;
  const gap = opts.gap ?? 4;
  const cellH = Math.max(...rows.flat().map((t) => t.height)) * scale;
  const cellW = Math.max(...rows.flat().map((t) => t.width)) * scale;
  const labelScale = opts.labelScale ??
    (scale >= 4 && (opts.columnLabels ?? []).every((l) => bitmapWordsFit(l, cellW, 2)) ? 2 : 1);
  const cols = Math.max(...rows.map((r) => r.length));
  const columnLines = (opts.columnLabels ?? []).map((l) => wrapBitmapText(l, cellW, labelScale));
  const maxColumnLines = Math.max(0, ...columnLines.map((l) => l.length));
  const top = maxColumnLines > 0 ? bitmapTextHeight(maxColumnLines, labelScale) + gap : 0;
  const rowLines = (opts.rowLabels ?? []).map((l) => l.split('\n'));
  const rowTextWidth = Math.max(0, ...rowLines.flat().map((l) => bitmapTextWidth(l, labelScale)));
  const left = rowTextWidth > 0 ? rowTextWidth + gap : 0;
  const png = new PNG({ width: left + gap + cols * (cellW + gap), height: top + gap + rows.length * (cellH + gap) });
  png.data.fill(200);
  const cellLeft = (ci: number): number => left + gap + ci * (cellW + gap);
  const cellTop = (ri: number): number => top + gap + ri * (cellH + gap);
  rows.forEach((row, ri) => row.forEach((tile, ci) => {
    for (let y = 0; y < tile.height * scale; y++) {
      for (let x = 0; x < tile.width * scale; x++) {
        const src = (Math.floor(y / scale) * tile.width + Math.floor(x / scale)) * 3;
        const dst = ((cellTop(ri) + y) * png.width + cellLeft(ci) + x) * 4;
        png.data[dst] = tile.rgb[src];
        png.data[dst + 1] = tile.rgb[src + 1];
        png.data[dst + 2] = tile.rgb[src + 2];
        png.data[dst + 3] = 255;
      }
    }
  }));
  // Column labels sit on the tiles (bottom-aligned), each line centred over its column.
  columnLines.forEach((lines, ci) => {
    const y0 = gap + bitmapTextHeight(maxColumnLines, labelScale) - bitmapTextHeight(lines.length, labelScale);
    lines.forEach((line, li) => {
      const x = cellLeft(ci) + Math.floor((cellW - bitmapTextWidth(line, labelScale)) / 2);
      drawBitmapText(png, line, x, y0 + bitmapTextHeight(li + 1, labelScale) - bitmapTextHeight(1, labelScale),
        { color: LABEL_INK, scale: labelScale });
    });
  });
  rowLines.forEach((lines, ri) => {
    const y = cellTop(ri) + Math.floor((cellH - bitmapTextHeight(lines.length, labelScale)) / 2);
    drawBitmapText(png, lines.join('\n'), gap, y, { color: LABEL_INK, scale: labelScale });
  });
  return PNG.sync.write(png);
}

/**
 * Reads a PNG as a model input [height, width, channels] in [0, 1]: converted to grey for one
 * channel, resized by nearest neighbour when its size differs.
 */
export function readPngInput(file: string, shape: number[]): Float32Array {
  if (!fs.existsSync(file)) throw new KilnError(`input image not found: ${file}`);
  let png: PNG;
  try {
    png = PNG.sync.read(fs.readFileSync(file));
  } catch (err) {
    throw new KilnError(`cannot read ${file} as PNG: ${(err as Error).message}`);
  }
  if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) {
    throw new KilnError(`the model takes inputs of shape [${shape}], not images with 1 or 3 channels`);
  }
  const [h, w, c] = shape;
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sy = Math.min(png.height - 1, Math.floor((y * png.height) / h));
      const sx = Math.min(png.width - 1, Math.floor((x * png.width) / w));
      const s = (sy * png.width + sx) * 4;
      const [r, g, b] = [png.data[s], png.data[s + 1], png.data[s + 2]];
      if (c === 1) out[y * w + x] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
      else for (let k = 0; k < 3; k++) out[(y * w + x) * 3 + k] = [r, g, b][k] / 255;
    }
  }
  return out;
}
