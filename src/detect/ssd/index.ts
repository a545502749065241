/** SSDLite: anchors, matching, box coding, loss, per-class NMS, the detector model, its training and prediction. */
export { generateAnchors, anchorsPerCell, checkAnchorOptions, DEFAULT_ANCHORS, type AnchorOptions } from './anchors.js';
export { cornerIou, toCorners, encodeBox, decodeBoxes, normalizedCorners, pixelBox, BOX_SCALES } from './boxes.js';
export { matchAnchors, anchorTargets, type AnchorTargets } from './match.js';
export { greedyNms, perClassNms, DEFAULT_NMS, type NmsOptions, type KeptBox } from './nms.js';
export {
  ssdLoss, checkSsdLoss, classLossName, hardNegativeMask, DEFAULT_CLASS_LOSS, SSD_CLASS_LOSSES, DEFAULT_FOCAL, DEFAULT_HARD_NEGATIVES,
  type FocalOptions, type HardNegativeOptions, type SsdLossOptions, type SsdTargets,
} from './loss.js';
export {
  buildDetector, saveDetector, loadDetector, detect, decodeDetections, inputBatch, checkImageInputs, checkNms,
  type Detector, type DetectorConfig, type BuildDetectorOptions, type ImageInput,
} from './detector.js';
export {
  trainDetector, detectionBatches, disposeBatch, frameOf, type TrainDetectorOptions, type TrainDetectorResult, type DetectorFrame, type DetectionBatch,
} from './train.js';
export { exportDetector, detectOnnx } from './onnx.js';
export { evaluateDetector, checkDetectorCategories, COCO_DETECTION_BUDGET, type DetectorEvaluation } from './evaluate.js';
export { detSupernet, type DetSupernet, type DetSupernetOptions } from './supernet.js';
export { mobileDetSearch, detectorLatencyModel, type DetSearchOptions, type DetSearchResult, type DetectorLatencyOptions } from './search.js';
export { detectionsPng, type DetectionsPngOptions } from './draw.js';
export {
  runMobileDet, trainStandaloneDetector, type MobileDetRunOptions, type MobileDetRun, type StandaloneDetectorOptions, type StandaloneDetector,
} from './pipeline.js';
