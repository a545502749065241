/**
 * StoryBench: the official tasks, generators, automatic metrics, results files, leaderboards and human ratings.
 *
 * @module kiln/storybench
 */
export { type StoryDataset, type TaskSummary, OFFICIAL_DATASETS, STORYBENCH_FPS, resolveDataset, loadTasks, summarizeTasks, VideoSource, framesNeeded } from './sources.js';
export { type StoryGenerator, type GenerationContext, type GeneratorOptions, type GeneratorEntry, generators, createGenerator, splitByPrompt } from './generators.js';
export { runBenchmark, prepareItem, taskResolution, renderAtTask, CONDITIONING_SIZE, type FrameSize, type RunOptions } from './run.js';
export { GROUND_TRUTH, type RunManifest, type ResultItem, writeResult, readResult, resultSamples, findRuns, readManifest, systemDir, itemName, type SystemRun } from './results.js';
export { type FrameExtractor, type VideoExtractor, frameExtractors, videoExtractors, i3dFrameIndices, i3dFrames, linspaceInt, resolveFrameExtractor, resolveVideoExtractor } from './features.js';
export { type DualEncoder, dualEncoders, resolveDualEncoder } from './dual.js';
export { trainKilnDual, saveKilnDual, loadKilnDual, shippedModel, judgeFrameExtractor, judgeVideoExtractor, type DualTrainOptions } from './kiln-world.js';
export { type Metric, type MetricScore, type MetricItem, type MetricEnvOptions, MetricEnv, metrics, summarizeScores, cosine } from './metrics.js';
export { ITEM_BOOTSTRAPS, itemInterval, moments, resampledFrechet, type Interval, type Moments } from './intervals.js';
export { scoreRuns, writeScores, readScores, type ScoreFile, type ScoreRow, type ScoreProgress } from './score.js';
export { RatingStore, QUESTIONS, parseAnswers, pairKey, wilson, winRates, readJudgements, judgementsCsv, type Judgement, type Answers, type Choice, type WinRate } from './ratings.js';
export { metricAgreement, type Agreement } from './agreement.js';
export { humanSection, leaderboardReport, leaderboardMarkdown, leaderboardHtml, writeLeaderboard, distinctDigits, type HumanSection } from './report.js';
export { tinyFrameModel, tinyVideoModel } from './onnx-builder.js';
