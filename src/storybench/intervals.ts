import { KilnError } from '../core/index.js';
import { bootstrapCounts, frechetDistance, percentile, type Matrix } from '../math/index.js';

/**
 * 95% intervals over items for the leaderboard: a percentile bootstrap that resamples the benchmark's
 * items with replacement (seeded, the same resamples for every system, so systems are compared on the
 * same draws). Items are the unit because a story's segments and frames are not independent. Each
 * resample recomputes the whole figure (a Frechet distance over the drawn items' features, or a share
 * of their summed segment/frame scores), averaged over samples as the point value is.
 */
export const ITEM_BOOTSTRAPS = 1000;
const SEED = 7;

export interface Interval {
  low: number;
  high: number;
}

/** Percentile interval of `statistic` (given how often each item is drawn) over item resamples; NaN-valued draws are left out. */
export function itemInterval(items: number, statistic: (counts: Float64Array) => number, boots = ITEM_BOOTSTRAPS): Interval {
  if (items < 2) return { low: NaN, high: NaN };
  const values = bootstrapCounts(items, boots, SEED).map(statistic).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { low: percentile(values, 0.025), high: percentile(values, 0.975) };
}

/**
 * One item's feature rows, summed: count, sum and sum of outer products, each row shifted by `shift`
 * (a shared centre keeps the sums small, so the covariance does not lose digits to cancellation).
 */
export interface Moments {
  n: number;
  sum: Float64Array;
  outer: Float64Array;
}

export function moments(rows: readonly ArrayLike<number>[], shift: ArrayLike<number>): Moments {
  const d = shift.length;
  const sum = new Float64Array(d);
  const outer = new Float64Array(d * d);
  const x = new Float64Array(d);
  for (const r of rows) {
    for (let i = 0; i < d; i++) x[i] = r[i] - shift[i];
    for (let i = 0; i < d; i++) {
      sum[i] += x[i];
      for (let j = 0; j < d; j++) outer[i * d + j] += x[i] * x[j];
    }
  }
  return { n: rows.length, sum, outer };
}

/** Mean and (n - 1)-normalised covariance of the rows of the items drawn `counts[i]` times each; null with under 2 rows. */
function gaussian(items: readonly Moments[], counts: Float64Array, shift: ArrayLike<number>): { mu: Float64Array; cov: Matrix } | null {
  const d = shift.length;
  let n = 0;
  const sum = new Float64Array(d);
  const outer = new Float64Array(d * d);
  items.forEach((m, k) => {
    const c = counts[k];
    if (!c) return;
    n += c * m.n;
    for (let i = 0; i < d; i++) sum[i] += c * m.sum[i];
    for (let i = 0; i < d * d; i++) outer[i] += c * m.outer[i];
  });
  if (n < 2) return null;
  const centred = Float64Array.from(sum, (s) => s / n);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) outer[i * d + j] = (outer[i * d + j] - n * centred[i] * centred[j]) / (n - 1);
  return { mu: Float64Array.from(centred, (v, i) => v + shift[i]), cov: { n: d, data: outer } };
}

/** Frechet distance between the truth's and one sample's features over the drawn items (NaN when it cannot be computed). */
export function resampledFrechet(truth: readonly Moments[], pred: readonly Moments[], shift: ArrayLike<number>, counts: Float64Array): number {
  const a = gaussian(truth, counts, shift);
  const b = gaussian(pred, counts, shift);
  if (!a || !b) return NaN;
  try {
    return frechetDistance(a.mu, a.cov, b.mu, b.cov).distance;
  } catch (e) {
    // A draw whose covariances admit no real square root has no distance; it is left out, not fatal.
    if (e instanceof KilnError) return NaN;
    throw e;
  }
}
