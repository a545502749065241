/**
 * Training: `fit` (seeded shuffling, optimizers, learning-rate schedules, label smoothing, early
 * stopping, resumable checkpoints, clean abort), evaluation, and the optimizer and schedule registries.
 *
 * @module kiln/train
 */
export { fit, type FitData, type FitOptions, type FitResult, type BatchEvent, type ResumeEvent, type TrainingObjective, type EarlyStopping, type Monitor } from './fit.js';
export { trainClassifier, setClassifierMetadata, type ClassifierJob, type ClassifierReady, type ClassifierRun } from './classifier.js';
export { schedules, createSchedule, type Schedule, type ScheduleOptions, type ScheduleFactory } from './schedules.js';
export { Adam } from './adam.js';
export { optimizers, createOptimizer, setLearningRate, type OptimizerOptions, type OptimizerFactory } from './optimizers.js';
export { classificationLoss, countCorrect, batchTensors, evaluate, predictProbs, type EvalMetrics } from './metrics.js';
export { saveCheckpoint, loadCheckpoint, hasCheckpoint, type EpochLog, type TrainState } from './checkpoint.js';
export { trainSteps, trainStepsSync, type TrainStepsOptions, type TrainStepsSyncOptions, type TrainStepEvent, type TrainStepsResult } from './steps.js';
