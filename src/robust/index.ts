/**
 * Robustness: adversarial attacks (FGSM, PGD in Linf and L2, APGD-CE/DLR/T and L1-APGD, FAB/FAB-T, Square, AutoAttack, DeepFool,
 * on-manifold PGD) in a registry,
 * their evaluation on a classifier, and the "When adversarial examples are excusable" experiment on a
 * rendered-shapes problem whose manifold and true class boundary are known exactly.
 *
 * @module kiln/robust
 */
export {
  LATENT_DIM, IMAGE_SIZE, LATENT_NAMES, render, ruleValue, labelOf, labelsOf, distanceToBoundary, distancesOf,
  nearestBoundaryPoint, sampleLatents, clampToBox,
} from './problem.js';
export {
  attacks, lossGradient, marginLoss, fooled, l2Norms, projectL2, perturbationNorms,
  type Attack, type AttackStage, type ThreatNorm, type AttackOptions, type AttackResult, type Classifier, type ManifoldContext,
} from './registry.js';
export {
  classifierOf, evaluateAttack, attackSavedModel, modelSha256,
  type AttackEvaluation, type AttackRecord, type SavedModelAttack, type SavedModelAttackResult,
} from './evaluate.js';
export { writeAttackReport } from './attack-report.js';
export { apgd, apgdCheckpoints, type ApgdLoss, type ApgdOptions } from './apgd.js';
export { squareLinf, squareFraction, type SquareOptions } from './square.js';
export { squareL2, squareEta } from './square-l2.js';
export { squareL1 } from './square-l1.js';
export { fab, type FabOptions } from './fab.js';
export { projectOntoHyperplane } from './fab-projections.js';
export { projectL1Box } from './l1-box-projection.js';
export {
  autoAttack, autoAttackPlan, attackInNorm, attackList, AUTOATTACK_VERSIONS, NORM_NAMES,
  type AutoAttackOptions, type AutoAttackResult, type AutoAttackStage, type AutoAttackStep, type AutoAttackVersion,
} from './autoattack.js';
export { pgdTraining, tradesTraining, ADVERSARIAL_TRAINING, type AdversarialTrainingOptions } from './adversarial-training.js';
export { trainInfinite, type InfiniteTrainOptions } from './train.js';
export { imageGridPng, perturbationImage } from './figures.js';
export { shapesCnn, type ShapesCnnOptions } from './model.js';
export {
  runExcusable, summarize, modelKinds, modelLabel, DEFAULT_CONFIG, QUICK_CONFIG, EXCUSABLE_TRAININGS, OFF_MANIFOLD_ATTACKS,
  type ExcusableConfig, type ExcusableTraining, type OffManifoldAttack, type ModelKind, type ExcusableResult, type ModelRun, type AttackRun, type ExampleImages,
} from './experiment.js';
export { excusableReport, excusableSummaryTable, readExcusableResults, writeExcusableReport } from './experiment-report.js';
