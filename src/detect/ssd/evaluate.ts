import { check } from '../../core/index.js';
import { cocoGroundTruthOf } from '../data/coco-json.js';
import { evaluateCoco, type CocoEvaluation } from '../eval/coco-eval.js';
import type { Category, Detection, DetectionImage } from '../types.js';
import { detect, type Detector } from './detector.js';
import type { NmsOptions } from './nms.js';

/**
 * Scoring a detector the COCO way: detections kept down to score 0.01 and at most 100 per image
 * (COCOeval's largest maxDets, so AR@100 and the AP average see every box it could count), then
 * evaluateCoco against the images' own boxes.
 */
export const COCO_DETECTION_BUDGET: Pick<NmsOptions, 'scoreThreshold' | 'maxDetections'> = { scoreThreshold: 0.01, maxDetections: 100 };

/** Checks that a dataset's categories are the detector's (same ids), so its boxes can be scored. */
export function checkDetectorCategories(d: Detector, categories: readonly Category[]): void {
  const have = d.config.categories.map((c) => c.id).sort((a, b) => a - b).join(',');
  const want = categories.map((c) => c.id).sort((a, b) => a - b).join(',');
  check(have === want, `the data's category ids (${want}) are not the detector's (${have}): it was trained on another dataset`);
}

export interface DetectorEvaluation {
  evaluation: CocoEvaluation;
  detections: Detection[];
}

/** COCO evaluation of `d` on `images` (their boxes are the ground truth). */
export async function evaluateDetector(d: Detector, images: readonly DetectionImage[]): Promise<DetectorEvaluation> {
  check(images.length > 0, 'no images to evaluate on');
  const detections = await detect(d, images, COCO_DETECTION_BUDGET);
  return { evaluation: evaluateCoco(cocoGroundTruthOf(images, d.config.categories), detections), detections };
}
