/**
 * Video stories (Phenaki): generated world, C-ViViT tokenizer, text encoder, MaskGIT generator, evaluation.
 *
 * @module kiln/video
 */
export * from './world.js';
export { writeStoryDataset, loadStories, taskItems, COND_FRAMES, type LoadedStory } from './dataset.js';
export { CViViT, DEFAULT_TOKENIZER, type TokenizerConfig } from './cvivit.js';
export { trainTokenizer, loadTokenizer, perplexity, TOKENIZER_FORMAT } from './train-tokenizer.js';
export { clip } from './clips.js';
export { MaskGit, sampleWindow, cosineSchedule, type GeneratorConfig, type SampleOptions } from './maskgit.js';
export { trainGenerator, loadGenerator, sampleExample, maskWindow, GENERATOR_FORMAT, type LoadedGenerator, type CurvePoint } from './train-generator.js';
export { createWordTokenizer, worldVocabulary, type WordTokenizer } from './text.js';
export { generateStory, DEFAULT_SAMPLING, type StoryOptions as GenerateStoryOptions } from './story.js';
export { trainJudge, judge, judgeAccuracy, JUDGE_HEADS, judgeTrainingClips, saveJudge, loadJudge, judgeInput, judgeInputRange, saveJudgeInputRange, loadJudgeInputRange, type JudgeInputRange, type JudgeOutput } from './judge.js';
export { evaluateStories, curveScores, CURVE_FIGURES, scoresMarkdown, scoresIntro, scoresTables, intervalsNote, reconstruct, SYSTEMS, FIGURES, COMPARED, BOOTSTRAPS, type EvalResult, type SystemScores, type Estimate, type Comparison, type Figure, type ScoresTable } from './evaluate.js';
export { trackActor, measureSegment, backgroundColour, MIN_AREA, MIN_TRAVEL, SIZE_RATIO, type SegmentMeasures, type TrackFrame } from './measures.js';
export { videoEvalReport, writeVideoEvalReport } from './report.js';
