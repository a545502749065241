/** detect: object detection data (generated scenes, scattered digits, COCO files) and COCO-protocol evaluation. */
export type {
  BoxXywh, Category, DetectionImage, DetectionSplits, DetectionDataset, Detection, CocoImageInfo, CocoAnnotation, CocoGroundTruth,
} from './types.js';
export {
  BOX_OVERRUN_TOLERANCE, parseCocoGroundTruth, parseCocoResults, readCocoGroundTruth, readCocoResults, cocoResultsJson,
  cocoGroundTruthJson, cocoGroundTruthOf,
} from './data/coco-json.js';
export {
  evaluateCoco, COCO_STAT_NAMES, IOU_THRESHOLDS, RECALL_THRESHOLDS, MAX_DETECTIONS, AREA_RANGES, type CocoEvaluation,
} from './eval/coco-eval.js';
