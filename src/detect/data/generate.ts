/**
 * Splits of a generated detection set. Each image is drawn from its own seeded stream (dataset seed, split, index),
 * so a split's images do not change when another split's size does, and the same seed gives the same boxes.
 */
import { check, createRng, type Rng } from '../../core/index.js';
import type { BoxXywh, Category, DetectionDataset, DetectionImage, DetectionSplits } from '../types.js';

export interface GeneratedDataOptions {
  seed?: number;
  /** Images per split (defaults per dataset). */
  train?: number;
  val?: number;
  test?: number;
}

export type SplitName = keyof DetectionSplits;
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** One generated scene: pixels (height x width x 3 in [0, 1]) and its exact boxes. */
export interface Scene {
  pixels: Float32Array;
  boxes: BoxXywh[];
  categoryIds: number[];
}

export interface SceneGenerator {
  name: string;
  categories: Category[];
  height: number;
  width: number;
  sizes: Record<SplitName, number>;
  scene(rng: Rng, split: SplitName): Scene;
}

/** Builds the three splits; image ids count from 1 across train, val and test so they are unique in the set. */
export function generateSplits(gen: SceneGenerator, opts: GeneratedDataOptions = {}): DetectionDataset {
  const seed = opts.seed ?? 0;
  check(Number.isInteger(seed), `${gen.name}: seed must be an integer, got ${seed}`);
  const splits = {} as DetectionSplits;
  let nextId = 1;
  SPLIT_NAMES.forEach((split, s) => {
    const n = opts[split] ?? gen.sizes[split];
    check(Number.isInteger(n) && n >= 0, `${gen.name}: ${split} size must be a whole number >= 0, got ${n}`);
    splits[split] = Array.from({ length: n }, (_, i): DetectionImage => {
      const rng = createRng(((seed * 3 + s) * 1_000_003 + i) >>> 0);
      return { id: nextId++, height: gen.height, width: gen.width, ...gen.scene(rng, split) };
    });
  });
  return { name: gen.name, categories: gen.categories, height: gen.height, width: gen.width, ...splits };
}

/**
 * Whether a new box may join `placed`: objects may overlap, but not so much that one hides most of another (its
 * box would then no longer describe what is visible).
 */
export function fitsAmong(box: BoxXywh, placed: readonly BoxXywh[], maxCover = 0.35): boolean {
  return placed.every((p) => {
    const w = Math.min(box[0] + box[2], p[0] + p[2]) - Math.max(box[0], p[0]);
    const h = Math.min(box[1] + box[3], p[1] + p[3]) - Math.max(box[1], p[1]);
    if (w <= 0 || h <= 0) return true;
    return w * h <= maxCover * Math.min(box[2] * box[3], p[2] * p[3]);
  });
}
