/**
 * explain: attribution methods for tfjs LayersModels (iNNvestigate's analyzers), their building
 * blocks (rules, composites, canonizers), heatmaps, and sanity / faithfulness checks.
 *
 * @module kiln/explain
 */
export {
  createAnalyzer, listAnalyzers, analyzers, selectionMask, NEURON_SELECTIONS,
  type Analyzer, type AnalyzerOptions, type AnalyzeOptions, type AnalyzerInfo, type NeuronSelection, type Explanation,
  type OptionSpec, type OptionValue, type ResolvedSelection,
} from './analyzers.js';
export {
  buildGraph, forward, SUPPORTED_LAYERS,
  type Graph, type GraphOp, type OpType, type LinearParams, type LinearKind, type ConvGeometry,
} from './graph.js';
export { mergeBatchNorm, handleSoftmax, type Canonizer } from './canonizers.js';
export {
  epsilonRule, alphaBetaRule, zPlusFastRule, wSquareRule, flatRule, boundedRule, gammaRule, passRule,
  safeDivide, stabilizedDivide, inputTimesVjp,
  type Rule, type StabilizerOptions, type WSquareOptions, type GammaOptions,
} from './rules.js';
export {
  uniform, byLayerKind, withInputRule, composites, listComposites, resolveComposite, COMPOSITE_DEFAULTS,
  type Composite, type CompositeFactory, type CompositeParams, type CompositeInfo,
} from './composites.js';
export { isInputLayer } from './reverse.js';
export { computePatterns, extractPatches, type PatternType } from './patterns.js';
export { heatmapTile, imageTile, gridPng, readPngInput, diverging, type Tile, type GridOptions } from './heatmap.js';
export {
  meanRankCorrelation, cascadingRandomization, pixelFlipping, type FlipCurve, type RandomizationStep,
} from './sanity.js';
export { explainExamples, parseIndices, DEFAULT_ANALYZERS, type ExplainJob, type ExplainRun } from './job.js';
