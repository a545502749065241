import { createRng } from '../core/index.js';

/** Descriptive statistics and 95% intervals. */

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

export function median(xs: ArrayLike<number>): number {
  if (!xs.length) return NaN;
  const s = Array.from(xs).sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Two-sided Student t critical value at 95% for `df` degrees of freedom. */
export function t95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
    2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
  if (df < 1) return NaN;
  return df <= table.length ? table[df - 1] : 1.96 + 2.4 / df;
}

/** Mean with the half-width of its 95% confidence interval (t distribution). */
export function meanCI(xs: readonly number[]): { mean: number; half: number; n: number } {
  const n = xs.length;
  return { mean: mean(xs), half: n > 1 ? (t95(n - 1) * std(xs)) / Math.sqrt(n) : NaN, n };
}

/** Wilson score interval for k successes in n trials (95% by default). */
export function wilson(k: number, n: number, z = 1.959964): { rate: number; low: number; high: number } {
  if (n === 0) return { rate: NaN, low: NaN, high: NaN };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // Rounding can put an end a hair inside the rate (4 of 4 gave a high of 1 - 1e-16): the interval always holds it.
  return { rate: p, low: Math.min(p, Math.max(0, centre - half)), high: Math.max(p, Math.min(1, centre + half)) };
}

/** The q-quantile (0..1) of ascending `sorted`, interpolating linearly between neighbours. */
export function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.min(sorted.length - 1, lo + 1)] - sorted[lo]) * (pos - lo);
}

/**
 * How often each of `n` units (stories, items) is drawn in each of `count` resamples with replacement
 * (seeded): a percentile bootstrap over units keeps what belongs to one unit (its segments, frames) together.
 */
export function bootstrapCounts(n: number, count: number, seed: number): Float64Array[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) c[rng.int(n)]++;
    return c;
  });
}
