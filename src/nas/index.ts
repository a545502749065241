/**
 * Architecture search: spaces, controllers, evaluators, cost models, studies and their storage,
 * predictors, one-shot supernets, latency models and the experiment that compares controllers.
 *
 * @module kiln/nas
 */
export * from './space/index.js';
export * from './controllers/index.js';
export * from './storage/index.js';
export {
  evaluators, createEvaluator, tableEvaluator, registerEvaluator, evaluatorOptions,
  type Evaluator, type EvaluatorContext, type EvaluatorFactory, type TrialMetrics,
} from './evaluators.js';
export * from './cost/index.js';
export { trialArtifactDir, writeTrialArtifacts, listTrialArtifacts, trialArtifactFile } from './artifacts.js';
export { loadTable, tableFromCsv, tableFromJson, type BenchmarkTable, type TableOptions } from './table.js';
export {
  openStudy, joinStudy, runStudy, normalizeStudy, bestTrial, isNotEvaluable, DEFAULT_GRACE_MS, DEFAULT_HEARTBEAT_MS,
  type Study, type StudyConfig, type OpenStudyOptions, type RunStudyOptions, type StudyRunOptions, type StudyRun, type PendingTrial, type JoinStudyOptions,
} from './study.js';
export { bestSoFar, trialsToReach, paretoFront } from './analysis.js';
export { fitPredictor, gcnWidth, PREDICTOR_MODELS, PREDICTOR_DEFAULTS, type Predictor, type PredictorConfig, type PredictorModel } from './predictor/index.js';
export {
  runNasExperiment, experimentPresets, PRESETS, PRESET_NAMES,
  type NasExperimentConfig, type NasExperimentResult, type RunResult, type ControllerPreset, type ExperimentHooks,
} from './experiment.js';
export * from './oneshot/index.js';
/** The progress reporter the one-shot pipelines ask for, one per phase. */
export type { Progress } from '../core/index.js';
export {
  searchComparison, curveStats, feasibleOptimum, bestSoFarWindow, medianInterval, rankControllers,
  type SearchComparison, type ControllerRuns, type ControllerStanding,
} from './search-report.js';
export { nasExperimentReport, experimentSummary, experimentCurve, runsCsv, curvesCsv } from './experiment-report.js';
export { runDemo, demoControllers, DEMO_TABLE, type DemoOptions, type DemoResult } from './demo.js';
export {
  runTabnasToy, runTabnasToySeed, tabnasToyReport, tabnasToyRows, tabnasToyParams, tabnasToySpace, TABNAS_TOY_SETTINGS, TABNAS_TOY_COLUMNS,
  TABNAS_TOY_WIDTHS, TABNAS_TOY_LIMIT, TABNAS_TOY_BEST, TABNAS_TOY_LOSS, type TabnasToyResult, type TabnasToyRate, type TabnasToyOutcome,
} from './tabnas-toy.js';
