/**
 * `shapes-det`: scenes of the story world's flat shapes (square, circle, triangle) in its colours, several per image,
 * of many sizes and turns, partly overlapping, on cluttered backgrounds (the world's background colours with a
 * brightness gradient, thin lines, specks and pixel noise). Boxes are exact: computed from each shape's geometry,
 * which lies wholly inside the image.
 */
import type { Rng } from '../../core/index.js';
import { BACKGROUNDS, BACKGROUND_NAMES, COLOURS, COLOUR_NAMES, SHAPES, insideShape, type Shape } from '../../video/world.js';
import type { BoxXywh, Category, DetectionDataset } from '../types.js';
import { fitsAmong, generateSplits, type GeneratedDataOptions, type Scene, type SceneGenerator } from './generate.js';

export const SHAPES_DET_SIZE = 64;
/** Category ids count from 1, in the story world's shape order. */
export const SHAPES_DET_CATEGORIES: Category[] = SHAPES.map((name, i) => ({ id: i + 1, name }));

/** A shape as drawn: centre, half extent and turn (as the story world's objects). */
export interface Placed { shape: Shape; colour: readonly number[]; x: number; y: number; size: number; angle: number }

/** Corner points of a shape in its own frame (see `insideShape`); a circle has none and is handled apart. */
function outline(shape: Shape, size: number): [number, number][] {
  if (shape === 'square') return [[-0.9, -0.9], [0.9, -0.9], [0.9, 0.9], [-0.9, 0.9]].map(([u, v]) => [u * size, v * size]);
  return [[0, -size], [-size, 0.85 * size], [size, 0.85 * size]];
}

/** The exact axis-aligned box of a placed shape. */
export function shapeBox(o: Placed): BoxXywh {
  if (o.shape === 'circle') return [o.x - o.size, o.y - o.size, 2 * o.size, 2 * o.size];
  const c = Math.cos(o.angle);
  const s = Math.sin(o.angle);
  const pts = outline(o.shape, o.size).map(([u, v]) => [o.x + u * c - v * s, o.y + u * s + v * c]);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const y0 = Math.min(...ys);
  return [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0];
}

function clutteredBackground(rng: Rng, n: number): Float32Array {
  const px = new Float32Array(n * n * 3);
  const base = BACKGROUNDS[rng.pick(BACKGROUND_NAMES)].map((v) => v / 255);
  const gx = (rng.next() - 0.5) * 0.25;
  const gy = (rng.next() - 0.5) * 0.25;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const shade = gx * (x / n - 0.5) + gy * (y / n - 0.5);
      for (let c = 0; c < 3; c++) px[(y * n + x) * 3 + c] = base[c] + shade + (rng.next() - 0.5) * 0.06;
    }
  }
  // Dim thin lines and specks: texture a detector must learn to ignore.
  const strokes = 2 + rng.int(5);
  for (let k = 0; k < strokes; k++) {
    const tint = [0, 1, 2].map(() => 0.15 + rng.next() * 0.3);
    const [x0, y0, x1, y1] = [rng.next() * n, rng.next() * n, rng.next() * n, rng.next() * n];
    const steps = Math.ceil(Math.hypot(x1 - x0, y1 - y0)) + 1;
    for (let t = 0; t <= steps; t++) {
      const x = Math.floor(x0 + ((x1 - x0) * t) / steps);
      const y = Math.floor(y0 + ((y1 - y0) * t) / steps);
      if (x < n && y < n) for (let c = 0; c < 3; c++) px[(y * n + x) * 3 + c] = tint[c];
    }
  }
  for (let k = 0; k < 3 + rng.int(10); k++) {
    const x = rng.int(n);
    const y = rng.int(n);
    for (let c = 0; c < 3; c++) px[(y * n + x) * 3 + c] = 0.2 + rng.next() * 0.5;
  }
  return px;
}

/** Paints a shape with 2x2 supersampling (soft edges), as the story world's renderer does. */
function paint(px: Float32Array, n: number, o: Placed, box: BoxXywh): void {
  for (let y = Math.max(0, Math.floor(box[1])); y < Math.min(n, Math.ceil(box[1] + box[3])); y++) {
    for (let x = Math.max(0, Math.floor(box[0])); x < Math.min(n, Math.ceil(box[0] + box[2])); x++) {
      let cover = 0;
      for (const sy of [0.25, 0.75]) for (const sx of [0.25, 0.75]) if (insideShape(o.shape, x + sx - o.x, y + sy - o.y, o.size, o.angle)) cover++;
      if (cover === 0) continue;
      const a = cover / 4;
      for (let c = 0; c < 3; c++) {
        const i = (y * n + x) * 3 + c;
        px[i] = px[i] * (1 - a) + o.colour[c] * a;
      }
    }
  }
}

function shapesScene(rng: Rng, n: number): Scene {
  const pixels = clutteredBackground(rng, n);
  const boxes: BoxXywh[] = [];
  const categoryIds: number[] = [];
  const wanted = 1 + rng.int(5);
  for (let tries = 0; boxes.length < wanted && tries < 60; tries++) {
    const size = 3 + rng.next() * 11;
    const shape = rng.pick(SHAPES);
    const o: Placed = {
      shape, colour: COLOURS[rng.pick(COLOUR_NAMES)].map((v) => v / 255),
      x: size + rng.next() * (n - 2 * size), y: size + rng.next() * (n - 2 * size), size,
      angle: shape === 'circle' ? 0 : (rng.next() - 0.5) * (Math.PI / 2),
    };
    const box = shapeBox(o);
    if (box[0] < 0 || box[1] < 0 || box[0] + box[2] > n || box[1] + box[3] > n || !fitsAmong(box, boxes)) continue;
    paint(pixels, n, o, box);
    boxes.push(box);
    categoryIds.push(SHAPES.indexOf(shape) + 1);
  }
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.min(1, Math.max(0, pixels[i]));
  return { pixels, boxes, categoryIds };
}

export const SHAPES_DET: SceneGenerator = {
  name: 'shapes-det',
  categories: SHAPES_DET_CATEGORIES,
  height: SHAPES_DET_SIZE,
  width: SHAPES_DET_SIZE,
  sizes: { train: 2000, val: 300, test: 300 },
  scene: (rng) => shapesScene(rng, SHAPES_DET_SIZE),
};

export function generateShapesDet(opts: GeneratedDataOptions = {}): DetectionDataset {
  return generateSplits(SHAPES_DET, opts);
}
