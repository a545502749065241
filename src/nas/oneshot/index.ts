/**
 * One-shot architecture search: weight-sharing supernets (TabNAS MLP widths, TuNAS MobileNet-like
 * image space, BigNAS elastic space), the RL search loop, and standalone children.
 * Importing this module registers the supernets' spaces in the nas spaces registry, and the
 * 'train' evaluator (standalone training of each candidate) in the evaluators registry.
 */
import { optionDefaults } from '../../core/index.js';
import { registerEvaluator } from '../evaluators.js';
import { spaces } from '../space/index.js';
import { mlpWidthSpace } from './mlp-supernet.js';
import { trainEvaluator, TRAIN_EVALUATOR_OPTIONS } from './train-evaluator.js';
import { bignasSpace, tunasSpace } from './conv-space.js';

export { choiceSpace } from './choice-space.js';
export { mlpWidthSpace, mlpSupernet, mlpParams, mlpWidths, mlpLatencyFeatures, MLP_WIDTHS } from './mlp-supernet.js';
export { uniquePrefix, supernetCosts, type Supernet, type ForwardOptions } from './supernet.js';
export { batchStream, childQuality, supernetLoss, supernetStep, QUALITIES, type BatchStream, type Quality } from './training.js';
export { rlSearch, batchQualityEvaluator, type RlSearchOptions, type RlTrainingSettings, type RlSearchResult, type RlStudy, type StepEvent } from './rl-search.js';
export { hasOneShotCheckpoint, saveOneShotCheckpoint, loadOneShotCheckpoint } from './checkpoint.js';
export { trainStandalone, trainForSteps, scoreModel, type StandaloneOptions, type StandaloneResult, type StepBudgetOptions } from './standalone.js';
export { tunasSearch, tunasSupernet, freshTunasChild, childrenNearTarget, randomSearchBaseline,
  type TunasOptions, type TunasResult, type RandomBaselineOptions, type BaselineTrial } from './tunas.js';
export { tabnasSearch, paramsCost, enumerate, TABNAS_MODES, type TabnasMode, type TabnasOptions, type TabnasResult } from './tabnas.js';
export { BACKBONE, SMALL_BACKBONE, BACKBONES, BIGNAS_EXPANSION, bignasSpace, tunasSpace, convPlan, convPlanCosts, convPlanFeatures, type Backbone, type BlockPlan, type ConvPlan } from './conv-space.js';
export { convSupernet, type ConvSupernet, type ConvSupernetOptions } from './conv-supernet.js';
export { recalibrateBatchNorm, fitInput } from './batchnorm.js';
export {
  runTabnas, runTunas, runBignas,
  type OneShotRunOptions, type OneShotRun, type TabnasRunOptions, type TabnasRun, type TunasRunOptions, type TunasRun, type BignasRunOptions, type BignasRun,
} from './pipelines.js';
export { trainEvaluator, TRAIN_EVALUATOR_OPTIONS, TRAIN_METRICS } from './train-evaluator.js';
export { runStandaloneJobs, type StandaloneJob, type StandaloneJobResult } from './parallel.js';
export { atResolution, splitsAtResolution, inputSide } from './resize.js';
export {
  bignasSupernet, bignasTrain, selectChild, inheritedChild, inheritedEvaluator, largestChild, smallestChild,
  type BignasTrainOptions, type BignasTrainResult, type ChildSelection, type SelectOptions,
} from './bignas.js';

for (const layers of [2, 3, 4]) {
  const space = mlpWidthSpace(layers);
  if (!spaces.has(space.name)) spaces.register(space.name, space, space.description);
}
for (const space of [tunasSpace(), bignasSpace()]) {
  if (!spaces.has(space.name)) spaces.register(space.name, space, space.description);
}
registerEvaluator('train', trainEvaluator,
  `train each candidate of an MLP width space from scratch for a step budget and score it (options: ${optionDefaults(TRAIN_EVALUATOR_OPTIONS)})`,
  TRAIN_EVALUATOR_OPTIONS);
