import { KilnError } from '../../core/index.js';

/**
 * TuNAS's cost model: latency linear in per-op features (an intercept plus, e.g., the one-hot
 * encoding of each decision's choice), fitted by ridge-regularized least squares on measured
 * architectures. Small dense normal equations, solved by Gaussian elimination with pivoting.
 */
export interface LinearModel {
  /** weights[0] is the intercept. */
  weights: number[];
}

export function fitLinear(features: readonly ArrayLike<number>[], targets: readonly number[], ridge = 1e-3): LinearModel {
  if (features.length !== targets.length || features.length === 0) throw new KilnError(`linear cost model needs matching, non-empty features and targets`);
  const d = features[0].length + 1;
  const a = Array.from({ length: d }, () => new Float64Array(d + 1));
  for (let r = 0; r < features.length; r++) {
    const x = [1, ...Array.from(features[r])];
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) a[i][j] += x[i] * x[j];
      a[i][d] += x[i] * targets[r];
    }
  }
  for (let i = 1; i < d; i++) a[i][i] += ridge; // the intercept is not shrunk
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    if (Math.abs(a[c][c]) < 1e-12) continue; // a feature never seen: weight stays 0
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= d; k++) a[r][k] -= f * a[c][k];
    }
  }
  return { weights: a.map((row, i) => (Math.abs(row[i]) < 1e-12 ? 0 : row[d] / row[i])) };
}

export function predictLinear(m: LinearModel, x: ArrayLike<number>): number {
  let y = m.weights[0];
  for (let i = 0; i < x.length; i++) y += m.weights[i + 1] * x[i];
  return y;
}

/** Mean and worst absolute percentage error of predictions against measurements. */
export function predictionError(predicted: readonly number[], measured: readonly number[]): { mape: number; maxApe: number } {
  const ape = predicted.map((p, i) => Math.abs(p - measured[i]) / measured[i]);
  return { mape: ape.reduce((s, x) => s + x, 0) / ape.length, maxApe: Math.max(...ape) };
}
