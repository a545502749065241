import { KilnError, check } from '../core/index.js';
import {
  addDiagonal, cholesky, choleskyCongruence, columnMean, congruence, covariance, sqrtPsd, symmetricEigen, symmetricEigenvalues, trace, type Matrix,
} from './linalg.js';

/**
 * Frechet distance between Gaussians N(mu1, S1) and N(mu2, S2):
 *   |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm(S1 S2)).
 * The reference (metrics/utils.py) takes scipy's sqrtm of the product. S1 S2 is similar to the
 * symmetric S1^1/2 S2 S1^1/2, and to L^T S2 L when S1 = L L^T, so tr(sqrtm(S1 S2)) is the sum of
 * square roots of either matrix's eigenvalues: the same number, computed with a symmetric
 * eigendecomposition in float64 (the Cholesky form when S1 is positive definite: no eigenvectors).
 * As in the reference, when the square root comes out complex or non-finite (eigenvalues below
 * -1e-10 of the largest, beyond rounding noise) both covariances get `eps` on the diagonal and the
 * computation is retried; an imaginary part above 1e-3 after that is an error, smaller ones are
 * dropped, as the reference does.
 *
 * @inline
 */
export interface FrechetResult {
  distance: number;
  /** True when the epsilon-regularised retry was needed. */
  regularized: boolean;
}

type TraceSqrt = { value: number; mostNegative: number; scale: number };

/** Sum of square roots of the eigenvalues (negative ones count as 0), and whether any is not finite. */
function sumSqrt(values: Float64Array): { value: number; finite: boolean } {
  let value = 0;
  let finite = true;
  for (const v of values) {
    if (!Number.isFinite(v)) finite = false;
    else value += Math.sqrt(Math.max(0, v));
  }
  return { value, finite };
}

/**
 * Fast path: with S1 = L L^T (Cholesky), S1 S2 is similar to the symmetric L^T S2 L, so one
 * eigenvalues-only decomposition does, and no eigenvectors are built. Cholesky completing means
 * S1 is positive definite up to rounding (its smallest eigenvalue is above -n*eps*|S1|, far inside
 * the -1e-10 tolerance), so only the product's eigenvalues can call for the regularised retry.
 * L^T S2 L and S1^1/2 S2 S1^1/2 have the same eigenvalues, so the decisions below match the
 * eigendecomposition route's up to rounding. Returns null (use that route) when S1 is not positive
 * definite or the product has an eigenvalue below -1e-10 of its largest: then S1's own extreme
 * eigenvalues take part in the decision.
 */
function traceSqrtProductCholesky(s1: Matrix, s2: Matrix): TraceSqrt | null {
  const l = cholesky(s1);
  if (!l) return null;
  const values = symmetricEigenvalues(choleskyCongruence(l, s2));
  const { value, finite } = sumSqrt(values);
  const top = Math.abs(values[values.length - 1]);
  if (!finite || !(values[0] >= -1e-10 * top)) return null;
  return { value, mostNegative: Math.min(0, values[0]), scale: Math.max(1e-300, top) };
}

/** (s + s^T) / 2: the products below read S2 as symmetric (for any S2 this equals symmetrising S1^1/2 S2 S1^1/2). */
function symmetrized(s: Matrix): Matrix {
  const n = s.n;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = 0.5 * (s.data[i * n + j] + s.data[j * n + i]);
  return { n, data };
}

/** tr(sqrtm(S1 S2)) and the most negative eigenvalue met on the way (S1's or the product's). */
function traceSqrtProduct(s1: Matrix, s2: Matrix): TraceSqrt {
  s2 = symmetrized(s2);
  const fast = traceSqrtProductCholesky(s1, s2);
  if (fast) return fast;
  const e1 = symmetricEigen(s1);
  const values = symmetricEigenvalues(congruence(sqrtPsd(s1, e1), s2));
  const { value, finite } = sumSqrt(values);
  const mostNegative = finite ? Math.min(0, e1.values[0], values[0]) : -Infinity;
  const scale = Math.max(1e-300, Math.abs(values[values.length - 1]), Math.abs(e1.values[e1.values.length - 1]));
  return { value, mostNegative, scale };
}

export function frechetDistance(mu1: ArrayLike<number>, s1: Matrix, mu2: ArrayLike<number>, s2: Matrix, eps = 1e-6): FrechetResult {
  check(mu1.length === mu2.length, `Frechet distance: mean vectors differ in length (${mu1.length} vs ${mu2.length})`);
  check(s1.n === s2.n && s1.n === mu1.length, 'Frechet distance: covariance sizes do not match the means');
  let diff2 = 0;
  for (let i = 0; i < mu1.length; i++) diff2 += (mu1[i] - mu2[i]) ** 2;
  let regularized = false;
  let tr = traceSqrtProduct(s1, s2);
  // Beyond rounding noise, a negative eigenvalue means a complex square root: regularise and retry.
  if (!(tr.mostNegative >= -1e-10 * tr.scale)) {
    regularized = true;
    tr = traceSqrtProduct(addDiagonal(s1, eps), addDiagonal(s2, eps));
    // The reference then tolerates imaginary parts up to 1e-3 (sqrt of |eigenvalue|) and drops them.
    if (!(Math.sqrt(-tr.mostNegative) <= 1e-3)) {
      throw new KilnError(`Frechet distance: imaginary component ${Math.sqrt(-tr.mostNegative).toExponential(2)} even after adding ${eps} to the covariances`);
    }
  }
  return { distance: diff2 + trace(s1) + trace(s2) - 2 * tr.value, regularized };
}

/** Frechet distance between two sets of feature vectors (rows), like get_frechet_dist. */
export function frechetFromFeatures(truth: readonly ArrayLike<number>[], preds: readonly ArrayLike<number>[], eps = 1e-6): FrechetResult {
  check(truth.length >= 2 && preds.length >= 2, `Frechet distance needs at least 2 feature vectors on each side (got ${truth.length} and ${preds.length})`);
  const mu1 = columnMean(truth);
  const mu2 = columnMean(preds);
  return frechetDistance(mu1, covariance(truth, mu1), mu2, covariance(preds, mu2), eps);
}
