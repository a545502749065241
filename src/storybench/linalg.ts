/**
 * Float64 dense linear algebra for the Frechet distance: means, covariances and the symmetric
 * eigendecomposition (Householder tridiagonalisation + implicit QL, the classic tred2/tql2 pair),
 * all on row-major Float64Array matrices.
 */

export type Matrix = { n: number; data: Float64Array };

/** Column means of `rows` (each a feature vector). */
export function columnMean(rows: readonly ArrayLike<number>[]): Float64Array {
  const d = rows[0].length;
  const mu = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j] += r[j];
  for (let j = 0; j < d; j++) mu[j] /= rows.length;
  return mu;
}

/** Sample covariance with n-1 in the denominator, like np.cov(x, rowvar=False). */
export function covariance(rows: readonly ArrayLike<number>[], mu = columnMean(rows)): Matrix {
  const d = mu.length;
  const n = rows.length;
  const c = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) centred[j] = r[j] - mu[j];
    for (let i = 0; i < d; i++) {
      const ci = centred[i];
      if (ci === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) c[row + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = c[i * d + j] / (n - 1);
      c[i * d + j] = v;
      c[j * d + i] = v;
    }
  }
  return { n: d, data: c };
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  const n = a.n;
  const A = a.data;
  const B = b.data;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oRow = out.subarray(i * n, (i + 1) * n);
    for (let k = 0; k < n; k++) {
      const aik = A[i * n + k];
      if (aik === 0) continue;
      const bRow = B.subarray(k * n, (k + 1) * n);
      for (let j = 0; j < n; j++) oRow[j] += aik * bRow[j];
    }
  }
  return { n, data: out };
}

export function trace(a: Matrix): number {
  let t = 0;
  for (let i = 0; i < a.n; i++) t += a.data[i * a.n + i];
  return t;
}

export function addDiagonal(a: Matrix, eps: number): Matrix {
  const data = Float64Array.from(a.data);
  for (let i = 0; i < a.n; i++) data[i * a.n + i] += eps;
  return { n: a.n, data };
}

/**
 * Eigenvalues (ascending) and eigenvectors (the ROWS of `vectors`: row k is the eigenvector of
 * values[k]) of a symmetric matrix. Only the lower triangle is read.
 */
export function symmetricEigen(a: Matrix): { values: Float64Array; vectors: Matrix } {
  const n = a.n;
  const V: Float64Array[] = Array.from({ length: n }, (_, i) => Float64Array.from(a.data.subarray(i * n, (i + 1) * n)));
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(n, V, d, e, true);
  // QL rotations act on eigenvector columns; keep them as rows so each rotation is contiguous.
  const Vt: Float64Array[] = Array.from({ length: n }, (_, k) => Float64Array.from({ length: n }, (_, i) => V[i][k]));
  tql2(n, Vt, d, e);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) vectors.set(Vt[k], k * n);
  return { values: d, vectors: { n, data: vectors } };
}

/** Eigenvalues only (ascending): skips accumulating the transformations, several times faster. */
export function symmetricEigenvalues(a: Matrix): Float64Array {
  const n = a.n;
  const V: Float64Array[] = Array.from({ length: n }, (_, i) => Float64Array.from(a.data.subarray(i * n, (i + 1) * n)));
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(n, V, d, e, false);
  tql2(n, null, d, e);
  return d;
}

/** Householder reduction to tridiagonal form (EISPACK tred2, as in JAMA). */
function tred2(n: number, V: Float64Array[], d: Float64Array, e: Float64Array, vectors: boolean): void {
  for (let j = 0; j < n; j++) d[j] = V[n - 1][j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[i - 1][j];
        V[i][j] = 0;
        V[j][i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j][i] = f;
        g = e[j] + V[j][j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k][j] * d[k];
          e[k] += V[k][j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k][j] -= f * e[k] + g * d[k];
        d[j] = V[i - 1][j];
        V[i][j] = 0;
      }
    }
    d[i] = h;
  }
  if (!vectors) {
    // The tridiagonal's diagonal sits on V's diagonal; the accumulation below would only copy it.
    for (let j = 0; j < n; j++) d[j] = V[j][j];
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    V[n - 1][i] = V[i][i];
    V[i][i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k][i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k][i + 1] * V[k][j];
        for (let k = 0; k <= i; k++) V[k][j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k][i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[n - 1][j];
    V[n - 1][j] = 0;
  }
  V[n - 1][n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL iterations on the tridiagonal form (EISPACK tql2, as in JAMA); sorts ascending.
 * `Vt` holds the eigenvectors as rows (JAMA's columns), or null for eigenvalues only.
 */
function tql2(n: number, Vt: Float64Array[] | null, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      do {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (Vt) {
            const vi = Vt[i];
            const vi1 = Vt[i + 1];
            for (let k = 0; k < n; k++) {
              h = vi1[k];
              vi1[k] = s * vi[k] + c * h;
              vi[k] = c * vi[k] - s * h;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i];
    for (let j = i + 1; j < n; j++) {
      if (d[j] < p) {
        k = j;
        p = d[j];
      }
    }
    if (k !== i) {
      d[k] = d[i];
      d[i] = p;
      if (Vt) [Vt[i], Vt[k]] = [Vt[k], Vt[i]];
    }
  }
}

/** Square root of a symmetric positive semi-definite matrix; tiny negative eigenvalues count as 0. */
export function sqrtPsd(a: Matrix, eig = symmetricEigen(a)): Matrix {
  const { values, vectors } = eig;
  const n = a.n;
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    const v = vectors.data.subarray(k * n, (k + 1) * n);
    for (let i = 0; i < n; i++) {
      const vik = v[i] * s;
      if (vik === 0) continue;
      const row = out.subarray(i * n, (i + 1) * n);
      for (let j = 0; j < n; j++) row[j] += vik * v[j];
    }
  }
  return { n, data: out };
}
