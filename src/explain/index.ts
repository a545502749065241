/**
 * explain: attribution methods for tfjs LayersModels (iNNvestigate's analyzers), their building
 * blocks (rules, composites, canonizers), heatmaps, and sanity / faithfulness checks.
 *
 * @module kiln/explain
 */
export {
  createAnalyzer, listAnalyzers, analyzers, selectionMask, NEURON_SELECTIONS,
  type Analyzer, type AnalyzerOptions, type AnalyzeOptions, type AnalyzerInfo, type NeuronSelection,
  type OptionSpec, type OptionValue, type ResolvedSelection,
} from './analyzers.js';
export { buildGraph, forward, SUPPORTED_LAYERS, type Graph, type GraphOp, type LinearParams } from './graph.js';
export { mergeBatchNorm, handleSoftmax, type Canonizer } from './canonizers.js';
export {
  epsilonRule, alphaBetaRule, zPlusFastRule, wSquareRule, flatRule, boundedRule, type Rule,
} from './rules.js';
export { uniform, byLayerKind, withInputRule, type Composite } from './composites.js';
export { computePatterns, extractPatches, type PatternType } from './patterns.js';
export { heatmapTile, imageTile, gridPng, readPngInput, diverging, type Tile } from './heatmap.js';
export {
  meanRankCorrelation, cascadingRandomization, pixelFlipping, type FlipCurve, type RandomizationStep,
} from './sanity.js';
