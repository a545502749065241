/** MobileDets at Kiln's scale: devices, the one-shot pipeline with evaluation and report, the paper's experiment. */
export { DETECTION_DEVICES, detectionDevice, type DetectionDevice, type DetectionDeviceName } from './devices.js';
export { runMobileDetOneShot, mobileDetOneShotReport, type MobileDetOneShot, type MobileDetOneShotSummary } from './oneshot.js';
export {
  runMobileDetsExperiment, mobileDetsReport, mobileDetsVerdicts, mobileDetsConclusion, groupCells, SEARCHED,
  type MobileDetsExperimentOptions, type MobileDetsExperiment, type MobileDetsCell, type MobileDetsGroup, type MobileDetsScale,
} from './mobiledets.js';
