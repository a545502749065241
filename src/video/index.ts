/**
 * Video stories (Phenaki): generated world, C-ViViT tokenizer, text encoder, MaskGIT generator, evaluation.
 *
 * @module kiln/video
 */
export * from './world.js';
export { writeStoryDataset, loadStories, taskItems, COND_FRAMES, type LoadedStory } from './dataset.js';
export { CViViT, DEFAULT_TOKENIZER, edgeError, type TokenizerConfig } from './cvivit.js';
export { trainTokenizer, loadTokenizer, perplexity, TOKENIZER_FORMAT, type TokenizerTrainOptions } from './train-tokenizer.js';
export { clip } from './clips.js';
export { MaskGit, sampleWindow, cosineSchedule, checkSameTokens, type GeneratorConfig, type SampleOptions } from './maskgit.js';
export { trainGenerator, loadGenerator, sampleExample, sampleImageExample, singleCaption, maskWindow, GENERATOR_FORMAT, type GeneratorTrainOptions, type LoadedGenerator, type CurvePoint, type Captions } from './train-generator.js';
export { createWordTokenizer, worldVocabulary, type WordTokenizer } from './text.js';
export { generateStory, DEFAULT_SAMPLING, type StoryOptions as GenerateStoryOptions } from './story.js';
export { trainJudge, judge, judgeAccuracy, JUDGE_HEADS, judgeTrainingClips, saveJudge, loadJudge, judgeInput, judgeInputRange, saveJudgeInputRange, loadJudgeInputRange, type JudgeInputRange, type JudgeOutput } from './judge.js';
export { evaluateStories, evaluateTokenizer, TOKENIZER_SYSTEMS, TOKENIZER_COMPARED, type TokenizerSystem, type System, curveScores, CURVE_FIGURES, scoresMarkdown, scoresIntro, scoresTables, intervalsNote, reconstruct, SYSTEMS, FIGURES, COMPARED, BOOTSTRAPS, type EvalResult, type SystemScores, type Estimate, type Comparison, type Figure, type ScoresTable } from './evaluate.js';
export { trackActor, measureSegment, backgroundColour, MIN_AREA, MIN_TRAVEL, SIZE_RATIO, type SegmentMeasures, type TrackFrame } from './measures.js';
export { videoEvalReport, writeVideoEvalReport } from './report.js';
export { scorePromptAlone, PROMPT_FIGURES, PROMPT_LABELS, type PromptScores, type PromptFigure } from './prompt-scores.js';
export {
  runVideoExperiments, summariseExperiment, checkVideoExperimentConfig, recipesOf, runDir, VIDEO_EXPERIMENTS, VIDEO_EXPERIMENT_NAMES, VIDEO_EXPERIMENT_DEFAULTS,
  VIDEO_EXPERIMENT_QUICK, RECIPES, RUN_FIGURES, type VideoExperimentConfig, type VideoExperimentName, type VideoExperiment, type VideoExperimentInputs,
  type Recipe, type RecipeName, type RunScores, type ArmFigure, type ExperimentFigure,
} from './experiment.js';
export { videoExperimentReport, writeVideoExperimentReport, verdict } from './experiment-report.js';
export { scoreLongStories, STORY_FIGURES, STORY_LABELS, FROZEN_DIFFERENCE, type LongStoryScores, type StoryTally, type StoryFigure } from './story-scores.js';
