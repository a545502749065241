import fs from 'node:fs';
import { KilnError, createRegistry } from '../../core/index.js';
import type { DetectionDataset } from '../types.js';
import { loadCocoDataset, type CocoDatasetOptions } from './coco-dataset.js';
import { generateDigitsDet } from './digits.js';
import type { GeneratedDataOptions } from './generate.js';
import { generateShapesDet } from './shapes.js';

export type DetectionDatasetLoader = (opts?: GeneratedDataOptions) => DetectionDataset;

/** Built-in detection sets by name (`--data shapes-det`); tests loop over these. */
export const detectionDatasets = createRegistry<DetectionDatasetLoader>('detection dataset');

detectionDatasets.register('shapes-det', generateShapesDet,
  'story-world shapes (square, circle, triangle), 1-5 per 64x64 scene, many sizes and turns, overlaps, cluttered backgrounds');
detectionDatasets.register('digits-det', generateDigitsDet,
  'MNIST digits (mnist package) scattered 1-4 per 64x64 canvas at random scales 14-38 px, ink-tight boxes');

export type DetectionDataOptions = GeneratedDataOptions & CocoDatasetOptions;

/** A registered detection set by name, or a COCO JSON annotation file by path (PNG images beside it). */
export function loadDetectionDataset(spec: string, opts: DetectionDataOptions = {}): DetectionDataset {
  if (detectionDatasets.has(spec)) return detectionDatasets.get(spec)(opts);
  if (/\.json$/i.test(spec) || fs.existsSync(spec)) return loadCocoDataset(spec, opts);
  throw new KilnError(`unknown detection dataset '${spec}' (known: ${detectionDatasets.names().join(', ')}; or a COCO .json annotation file)`);
}
