/**
 * detect: object detection data (generated `shapes-det` and `digits-det` scenes with exact boxes, COCO JSON files),
 * box pictures, COCO-protocol evaluation bit-identical to pycocotools' COCOeval, the SSDLite detector and the
 * MobileDet search space (IBN, fused IBN and Tucker blocks) with its TuNAS-style latency-aware search.
 *
 * @module kiln/detect
 */
export type {
  BoxXywh, Category, DetectionImage, DetectionSplits, DetectionDataset, Detection, CocoImageInfo, CocoAnnotation, CocoGroundTruth,
} from './types.js';
export {
  BOX_OVERRUN_TOLERANCE, parseCocoGroundTruth, parseCocoResults, readCocoGroundTruth, readCocoResults, cocoResultsJson,
  cocoGroundTruthJson, cocoGroundTruthOf,
} from './data/coco-json.js';
export { loadCocoDataset, cocoImages, readPngRgb, writeCocoDataset, type CocoDatasetOptions } from './data/coco-dataset.js';
export { generateShapesDet, SHAPES_DET, SHAPES_DET_CATEGORIES, SHAPES_DET_SIZE } from './data/shapes.js';
export { generateDigitsDet, DIGITS_DET, DIGITS_DET_CATEGORIES, DIGITS_DET_SIZE } from './data/digits.js';
export {
  generateSplits, fitsAmong, SPLIT_NAMES, type GeneratedDataOptions, type Scene, type SceneGenerator, type SplitName,
} from './data/generate.js';
export { detectionDatasets, loadDetectionDataset, type DetectionDatasetLoader, type DetectionDataOptions } from './data/registry.js';
export { boxGridPng, datasetPreviewPng, type BoxPanel, type LabelledBox, type BoxGridOptions } from './data/preview.js';
export {
  evaluateCoco, COCO_STAT_NAMES, IOU_THRESHOLDS, RECALL_THRESHOLDS, MAX_DETECTIONS, AREA_RANGES, type CocoEvaluation,
} from './eval/coco-eval.js';
export * from './space/index.js';
export * from './ssd/index.js';
export * from './experiment/index.js';
