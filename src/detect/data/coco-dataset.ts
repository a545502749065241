/**
 * A user's detection data in COCO JSON: the annotation file names each image's `file_name` (relative to the file's
 * folder or `imageDir`), its size and its boxes. Images are PNG (decoded with pngjs, already a dependency); Kiln has
 * no JPEG decoder, so a JPEG is a clear error asking for PNG rather than a new dependency. Every image file is
 * checked (present, decodable, the size the JSON says, the same size as the others) before any pixels are used.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { KilnError, check, checkInputFile, createRng } from '../../core/index.js';
import type { Category, CocoGroundTruth, DetectionDataset, DetectionImage } from '../types.js';
import { cocoGroundTruthJson, cocoGroundTruthOf, readCocoGroundTruth } from './coco-json.js';

export interface CocoDatasetOptions {
  /** Folder the images' `file_name`s are relative to (default: the JSON file's folder). */
  imageDir?: string;
  /** Seed of the split into train/val/test. */
  seed?: number;
  /** Fractions of the images held out for validation and test (default 0.1 each). */
  valFraction?: number;
  testFraction?: number;
}

/** RGB in [0, 1] of a PNG file; `what` names it in errors. */
export function readPngRgb(file: string, what: string): { width: number; height: number; pixels: Float32Array } {
  checkInputFile(file, what);
  if (/\.jpe?g$/i.test(file)) throw new KilnError(`${what} ${file} is a JPEG; Kiln reads PNG images only (convert it to PNG)`);
  let png: PNG;
  try {
    png = PNG.sync.read(fs.readFileSync(file));
  } catch (e) {
    throw new KilnError(`${what} ${file} is not a readable PNG (${(e as Error).message}); Kiln reads PNG images only`);
  }
  const pixels = new Float32Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) for (let c = 0; c < 3; c++) pixels[i * 3 + c] = png.data[i * 4 + c] / 255;
  return { width: png.width, height: png.height, pixels };
}

function checkFraction(v: number, name: string): number {
  check(Number.isFinite(v) && v >= 0 && v < 1, `${name} must be in [0, 1), got ${v}`);
  return v;
}

/** The images of `gt` with their boxes, read from disk. */
export function cocoImages(gt: CocoGroundTruth, imageDir: string): DetectionImage[] {
  const byImage = new Map<number, CocoGroundTruth['annotations']>();
  for (const a of gt.annotations) byImage.set(a.imageId, [...(byImage.get(a.imageId) ?? []), a]);
  const first = gt.images[0];
  for (const im of gt.images) {
    check(im.fileName !== '', `image ${im.id} has no file_name`);
    if (im.width !== first.width || im.height !== first.height) {
      throw new KilnError(`images differ in size (image ${first.id} is ${first.width}x${first.height}, image ${im.id} ` +
        `${im.width}x${im.height}); a detector needs one input size, so resize them to one size first`);
    }
    checkInputFile(path.resolve(imageDir, im.fileName), `image ${im.id} file`);
  }
  return gt.images.map((im) => {
    const file = path.resolve(imageDir, im.fileName);
    const png = readPngRgb(file, `image ${im.id} file`);
    if (png.width !== im.width || png.height !== im.height) {
      throw new KilnError(`image ${im.id} file ${file} is ${png.width}x${png.height}, but the annotations say ${im.width}x${im.height}`);
    }
    const anns = byImage.get(im.id) ?? [];
    return {
      id: im.id, width: im.width, height: im.height, pixels: png.pixels,
      boxes: anns.map((a) => [...a.box]), categoryIds: anns.map((a) => a.categoryId), crowd: anns.map((a) => a.crowd),
    };
  });
}

/** Loads a COCO-format detection dataset and splits it into train/val/test by a seeded shuffle. */
export function loadCocoDataset(file: string, opts: CocoDatasetOptions = {}): DetectionDataset {
  const valFraction = checkFraction(opts.valFraction ?? 0.1, 'val fraction');
  const testFraction = checkFraction(opts.testFraction ?? 0.1, 'test fraction');
  check(valFraction + testFraction < 1, `val and test fractions leave no training images (${valFraction} + ${testFraction})`);
  const gt = readCocoGroundTruth(file);
  check(gt.images.length > 0, `ground truth ${file} has no images`);
  const images = cocoImages(gt, opts.imageDir ?? path.dirname(file));
  const order = createRng(opts.seed ?? 0).shuffle(images.map((_, i) => i));
  const nVal = Math.round(images.length * valFraction);
  const nTest = Math.round(images.length * testFraction);
  const pick = (from: number, to: number): DetectionImage[] => order.slice(from, to).sort((a, b) => a - b).map((i) => images[i]);
  return {
    name: path.basename(file, path.extname(file)), categories: gt.categories, height: images[0].height, width: images[0].width,
    val: pick(0, nVal), test: pick(nVal, nVal + nTest), train: pick(nVal + nTest, images.length),
  };
}

/**
 * Writes images as `<id>.png` and their boxes as `annotations.json` (COCO) into `dir`, the layout `loadCocoDataset`
 * reads: a generated split becomes a dataset other tools (or Kiln itself) can load. Returns the JSON file's path.
 */
export function writeCocoDataset(dir: string, images: readonly DetectionImage[], categories: readonly Category[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const gt = cocoGroundTruthOf(images, categories);
  images.forEach((im, k) => {
    const png = new PNG({ width: im.width, height: im.height });
    for (let i = 0; i < im.width * im.height; i++) {
      for (let c = 0; c < 3; c++) png.data[i * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, im.pixels[i * 3 + c])));
      png.data[i * 4 + 3] = 255;
    }
    gt.images[k].fileName = `${im.id}.png`;
    fs.writeFileSync(path.join(dir, gt.images[k].fileName), PNG.sync.write(png));
  });
  const file = path.join(dir, 'annotations.json');
  fs.writeFileSync(file, JSON.stringify(cocoGroundTruthJson(gt)));
  return file;
}
