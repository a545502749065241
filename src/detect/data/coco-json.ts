/**
 * Validated reading of COCO JSON: ground-truth files (`images`, `categories`, `annotations`) and bbox results files
 * (`[{image_id, category_id, bbox, score}]`). Every malformed entry is a one-line KilnError naming the file and the
 * entry, so `kiln detect eval` and the COCO dataset loader never score or train on silently wrong boxes.
 */
import { KilnError, readJsonFile } from '../../core/index.js';
import type { BoxXywh, Category, CocoAnnotation, CocoGroundTruth, CocoImageInfo, Detection, DetectionImage } from '../types.js';

/**
 * How far (pixels) a ground-truth box may overrun its image: annotation tools round corners, so a box ending at
 * 640.4 on a 640-pixel image is kept, one ending at 700 is an error.
 */
export const BOX_OVERRUN_TOLERANCE = 1;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(o: Json, key: string, where: string): unknown {
  if (o[key] === undefined) throw new KilnError(`${where}: missing field '${key}'`);
  return o[key];
}

function intField(o: Json, key: string, where: string, min = 0): number {
  const v = field(o, key, where);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new KilnError(`${where}: '${key}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function finiteField(o: Json, key: string, where: string): number {
  const v = field(o, key, where);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new KilnError(`${where}: '${key}' must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function boxField(o: Json, where: string): BoxXywh {
  const b = field(o, 'bbox', where);
  if (!Array.isArray(b) || b.length !== 4 || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new KilnError(`${where}: 'bbox' must be [x, y, width, height] of 4 finite numbers, got ${JSON.stringify(b)}`);
  }
  if (b[2] < 0 || b[3] < 0) throw new KilnError(`${where}: bbox ${JSON.stringify(b)} has a negative width or height`);
  return [b[0], b[1], b[2], b[3]];
}

function arrayField(o: Json, key: string, where: string): unknown[] {
  const v = field(o, key, where);
  if (!Array.isArray(v)) throw new KilnError(`${where}: '${key}' must be a list`);
  return v;
}

function entry(v: unknown, where: string): Json {
  if (!isObject(v)) throw new KilnError(`${where} must be an object`);
  return v;
}

function uniqueId(seen: Set<number>, id: number, where: string, kind: string): void {
  if (seen.has(id)) throw new KilnError(`${where}: duplicate ${kind} id ${id}`);
  seen.add(id);
}

/** Checks a parsed COCO ground-truth document; `what` names it in errors (e.g. 'ground truth gt.json'). */
export function parseCocoGroundTruth(doc: unknown, what: string): CocoGroundTruth {
  const root = entry(doc, what);
  const images: CocoImageInfo[] = [];
  const imageById = new Map<number, CocoImageInfo>();
  arrayField(root, 'images', what).forEach((raw, i) => {
    const where = `${what}: images[${i}]`;
    const o = entry(raw, where);
    const id = intField(o, 'id', where);
    if (imageById.has(id)) throw new KilnError(`${where}: duplicate image id ${id}`);
    const fileName = o.file_name === undefined ? '' : o.file_name;
    if (typeof fileName !== 'string') throw new KilnError(`${where}: 'file_name' must be a string`);
    const image = { id, width: intField(o, 'width', where, 1), height: intField(o, 'height', where, 1), fileName };
    images.push(image);
    imageById.set(id, image);
  });
  const categories: Category[] = [];
  const catIds = new Set<number>();
  arrayField(root, 'categories', what).forEach((raw, i) => {
    const where = `${what}: categories[${i}]`;
    const o = entry(raw, where);
    const id = intField(o, 'id', where);
    uniqueId(catIds, id, where, 'category');
    const name = o.name === undefined ? String(id) : o.name;
    if (typeof name !== 'string') throw new KilnError(`${where}: 'name' must be a string`);
    categories.push({ id, name });
  });
  const annotations: CocoAnnotation[] = [];
  const annIds = new Set<number>();
  arrayField(root, 'annotations', what).forEach((raw, i) => {
    const where = `${what}: annotations[${i}]`;
    const o = entry(raw, where);
    const id = intField(o, 'id', where);
    uniqueId(annIds, id, where, 'annotation');
    const imageId = intField(o, 'image_id', where);
    const image = imageById.get(imageId);
    if (!image) throw new KilnError(`${where}: unknown image_id ${imageId}`);
    const categoryId = intField(o, 'category_id', where);
    if (!catIds.has(categoryId)) throw new KilnError(`${where}: unknown category_id ${categoryId} (categories: ${[...catIds].join(', ')})`);
    const box = boxField(o, where);
    const t = BOX_OVERRUN_TOLERANCE;
    if (box[0] < -t || box[1] < -t || box[0] + box[2] > image.width + t || box[1] + box[3] > image.height + t) {
      throw new KilnError(`${where}: bbox ${JSON.stringify(box)} lies outside image ${imageId} (${image.width}x${image.height})`);
    }
    const area = o.area === undefined ? box[2] * box[3] : finiteField(o, 'area', where);
    if (area < 0) throw new KilnError(`${where}: negative area ${area}`);
    const crowd = o.iscrowd === undefined ? 0 : o.iscrowd;
    if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) throw new KilnError(`${where}: 'iscrowd' must be 0 or 1, got ${JSON.stringify(crowd)}`);
    annotations.push({ id, imageId, categoryId, box, area, crowd: crowd === 1 || crowd === true });
  });
  return { images, categories, annotations };
}

/** Checks a parsed COCO bbox results list against its ground truth: every image and category must exist there. */
export function parseCocoResults(doc: unknown, gt: CocoGroundTruth, what: string): Detection[] {
  if (!Array.isArray(doc)) throw new KilnError(`${what} must be a list of {image_id, category_id, bbox, score}`);
  const imageIds = new Set(gt.images.map((im) => im.id));
  const catIds = new Set(gt.categories.map((c) => c.id));
  return doc.map((raw, i) => {
    const where = `${what}: [${i}]`;
    const o = entry(raw, where);
    const imageId = intField(o, 'image_id', where);
    if (!imageIds.has(imageId)) throw new KilnError(`${where}: image_id ${imageId} is not in the ground truth`);
    const categoryId = intField(o, 'category_id', where);
    if (!catIds.has(categoryId)) throw new KilnError(`${where}: unknown category_id ${categoryId} (ground truth has ${[...catIds].join(', ')})`);
    return { imageId, categoryId, box: boxField(o, where), score: finiteField(o, 'score', where) };
  });
}

export function readCocoGroundTruth(file: string): CocoGroundTruth {
  return parseCocoGroundTruth(readJsonFile(file, 'ground truth'), `ground truth ${file}`);
}

export function readCocoResults(file: string, gt: CocoGroundTruth): Detection[] {
  return parseCocoResults(readJsonFile(file, 'results'), gt, `results ${file}`);
}

/** The COCO results document for `detections` (what `kiln detect eval --dt` reads). */
export function cocoResultsJson(detections: readonly Detection[]): Json[] {
  return detections.map((d) => ({ image_id: d.imageId, category_id: d.categoryId, bbox: [...d.box], score: d.score }));
}

/** The COCO ground-truth document of a validated ground truth (round-trips through `parseCocoGroundTruth`). */
export function cocoGroundTruthJson(gt: CocoGroundTruth): Json {
  return {
    images: gt.images.map((im) => ({ id: im.id, width: im.width, height: im.height, file_name: im.fileName })),
    categories: gt.categories.map((c) => ({ id: c.id, name: c.name })),
    annotations: gt.annotations.map((a) => ({
      id: a.id, image_id: a.imageId, category_id: a.categoryId, bbox: [...a.box], area: a.area, iscrowd: a.crowd ? 1 : 0,
    })),
  };
}

/**
 * The COCO ground truth of in-memory images (a generated split): annotation ids count from 1 in image order, area is
 * the box area, and file names are empty since the pixels are already in memory.
 */
export function cocoGroundTruthOf(images: readonly DetectionImage[], categories: readonly Category[]): CocoGroundTruth {
  const annotations: CocoAnnotation[] = [];
  for (const im of images) {
    im.boxes.forEach((box, j) => annotations.push({
      id: annotations.length + 1, imageId: im.id, categoryId: im.categoryIds[j], box: [...box], area: box[2] * box[3],
      crowd: im.crowd?.[j] ?? false,
    }));
  }
  return {
    images: images.map((im) => ({ id: im.id, width: im.width, height: im.height, fileName: '' })),
    categories: categories.map((c) => ({ ...c })),
    annotations,
  };
}
