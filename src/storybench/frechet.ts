import { KilnError, check } from '../core/index.js';
import { addDiagonal, columnMean, covariance, matmul, sqrtPsd, symmetricEigen, symmetricEigenvalues, trace, type Matrix } from './linalg.js';

/**
 * Frechet distance between Gaussians N(mu1, S1) and N(mu2, S2):
 *   |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm(S1 S2)).
 * The reference (metrics/utils.py) takes scipy's sqrtm of the product. S1 S2 is similar to the
 * symmetric S1^1/2 S2 S1^1/2, so tr(sqrtm(S1 S2)) is the sum of square roots of that matrix's
 * eigenvalues: the same number, computed with a symmetric eigendecomposition in float64.
 * As in the reference, when the square root comes out complex or non-finite (eigenvalues below
 * -1e-10 of the largest, beyond rounding noise) both covariances get `eps` on the diagonal and the
 * computation is retried; an imaginary part above 1e-3 after that is an error, smaller ones are
 * dropped, as the reference does.
 */
export interface FrechetResult {
  distance: number;
  /** True when the epsilon-regularised retry was needed. */
  regularized: boolean;
}

/** tr(sqrtm(S1 S2)) and the most negative eigenvalue met on the way (S1's or the product's). */
function traceSqrtProduct(s1: Matrix, s2: Matrix): { value: number; mostNegative: number; scale: number } {
  const e1 = symmetricEigen(s1);
  const r = sqrtPsd(s1, e1);
  const m = matmul(matmul(r, s2), r);
  // Symmetrise away rounding before the eigendecomposition.
  for (let i = 0; i < m.n; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (m.data[i * m.n + j] + m.data[j * m.n + i]);
      m.data[i * m.n + j] = v;
      m.data[j * m.n + i] = v;
    }
  }
  const values = symmetricEigenvalues(m);
  let value = 0;
  let mostNegative = Math.min(0, e1.values[0], values[0]);
  for (const v of values) {
    if (!Number.isFinite(v)) mostNegative = -Infinity;
    else value += Math.sqrt(Math.max(0, v));
  }
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
