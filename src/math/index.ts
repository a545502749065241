/** Numerics below the capabilities: statistics, rank correlation, float64 linear algebra, Frechet distance. */
export { mean, std, median, t95, meanCI, wilson, percentile, bootstrapCounts } from './stats.js';
export { ranks, spearman, kendallTau } from './rank.js';
export { columnMean, covariance, symmetricEigen, symmetricEigenvalues, sqrtPsd, type Matrix } from './linalg.js';
export { frechetDistance, frechetFromFeatures } from './frechet.js';
