import test from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../src/core/index.js';
import {
  cholesky, choleskyCongruence, congruence, covariance, matmul, sqrtPsd, symmetricEigen, symmetricEigenvalues, trace, type Matrix,
} from '../src/math/linalg.js';
import { frechetDistance, frechetFromFeatures } from '../src/math/frechet.js';

const rng = createRng(5);
const randomRows = (count: number, dim: number) => Array.from({ length: count }, () => Array.from({ length: dim }, () => rng.normal()));
const randomSymmetric = (n: number): Matrix => {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) data[i * n + j] = data[j * n + i] = rng.normal();
  return { n, data };
};
const naiveProduct = (a: Matrix, b: Matrix): Matrix => {
  const n = a.n;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) data[i * n + j] += a.data[i * n + k] * b.data[k * n + j];
  return { n, data };
};
const transpose = (a: Matrix): Matrix => ({ n: a.n, data: Float64Array.from(a.data, (_, idx) => a.data[(idx % a.n) * a.n + Math.floor(idx / a.n)]) });
const maxAbsDiff = (a: Matrix, b: Matrix) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i])), 0);

test('symmetricEigen: A = V^T diag(w) V, orthonormal eigenvectors, ascending values, for odd and even sizes', () => {
  for (const n of [1, 2, 5, 8, 37, 64]) {
    const a = randomSymmetric(n);
    const { values, vectors } = symmetricEigen(a);
    const vtw = { n, data: Float64Array.from(vectors.data, (v, idx) => v * values[Math.floor(idx / n)]) };
    assert.ok(maxAbsDiff(naiveProduct(transpose(vectors), vtw), a) < 1e-12 * n, `reconstruction n=${n}`);
    const gram = naiveProduct(vectors, transpose(vectors));
    const eye = { n, data: Float64Array.from({ length: n * n }, (_, idx) => (idx % (n + 1) === 0 ? 1 : 0)) };
    assert.ok(maxAbsDiff(gram, eye) < 1e-13 * n, `orthonormality n=${n}`);
    for (let k = 1; k < n; k++) assert.ok(values[k] >= values[k - 1]);
    symmetricEigenvalues(a).forEach((v, k) => assert.ok(Math.abs(v - values[k]) < 1e-12 * n, `eigenvalues-only n=${n}`));
  }
});

test('symmetricEigen handles rows that are already reduced (zero Householder columns)', () => {
  // Block diagonal with an exactly zero coupling row: the reduction skips those steps.
  const n = 6;
  const a = randomSymmetric(n);
  for (let j = 0; j < n; j++) if (j !== 3) a.data[3 * n + j] = a.data[j * n + 3] = 0;
  a.data[5 * n + 4] = a.data[4 * n + 5] = 0;
  const { values, vectors } = symmetricEigen(a);
  const vtw = { n, data: Float64Array.from(vectors.data, (v, idx) => v * values[Math.floor(idx / n)]) };
  assert.ok(maxAbsDiff(naiveProduct(transpose(vectors), vtw), a) < 1e-12);
});

test('covariance equals the two-pass definition for odd sample counts, sizes off the kernel multiples, several chunks', () => {
  for (const [count, dim] of [[13, 7], [4099, 3]]) {
    const rows = randomRows(count, dim);
    const c = covariance(rows);
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j < dim; j++) {
        const mi = rows.reduce((s, r) => s + r[i], 0) / count;
        const mj = rows.reduce((s, r) => s + r[j], 0) / count;
        const v = rows.reduce((s, r) => s + (r[i] - mi) * (r[j] - mj), 0) / (count - 1);
        assert.ok(Math.abs(c.data[i * dim + j] - v) < 1e-13, `${count}x${dim} [${i}][${j}]`);
      }
    }
  }
});

test('matmul, congruence and choleskyCongruence agree with the naive products', () => {
  const a = covariance(randomRows(40, 11));
  const b = covariance(randomRows(40, 11));
  assert.ok(maxAbsDiff(matmul(a, b), naiveProduct(a, b)) < 1e-12);
  assert.ok(maxAbsDiff(congruence(a, b), naiveProduct(naiveProduct(a, b), a)) < 1e-12);
  const l = cholesky(a);
  assert.ok(l);
  assert.ok(maxAbsDiff(naiveProduct(l, transpose(l)), a) < 1e-12, 'L L^T = A');
  for (let i = 0; i < 11; i++) for (let j = i + 1; j < 11; j++) assert.equal(l.data[i * 11 + j], 0);
  assert.ok(maxAbsDiff(choleskyCongruence(l, b), naiveProduct(naiveProduct(transpose(l), b), l)) < 1e-12);
});

test('cholesky: blocked factor of a larger matrix, null for indefinite or singular input', () => {
  const a = covariance(randomRows(300, 150));
  const l = cholesky(a);
  assert.ok(l);
  assert.ok(maxAbsDiff(naiveProduct(l, transpose(l)), a) < 1e-12);
  assert.equal(cholesky({ n: 2, data: Float64Array.from([1, 0, 0, -1e-7]) }), null);
  assert.equal(cholesky({ n: 2, data: Float64Array.from([1, 1, 1, 1]) }), null);
});

/** tr(sqrtm(S1 S2)) by the eigendecomposition route only (sqrt(S1) S2 sqrt(S1)). */
const traceSqrtByEigen = (s1: Matrix, s2: Matrix) =>
  symmetricEigenvalues(congruence(sqrtPsd(s1), s2)).reduce((s, v) => s + Math.sqrt(Math.max(0, v)), 0);

test('Frechet distance: the Cholesky fast path equals the eigendecomposition route', () => {
  const truth = randomRows(90, 41);
  const preds = randomRows(90, 41).map((r) => r.map((v, j) => 1.3 * v + 0.4 * r[(j + 1) % 41] + 0.1));
  const s1 = covariance(truth);
  const s2 = covariance(preds);
  const expected = trace(s1) + trace(s2) - 2 * traceSqrtByEigen(s1, s2);
  const mu = new Float64Array(41);
  const got = frechetDistance(mu, s1, mu, s2);
  assert.equal(got.regularized, false);
  assert.ok(Math.abs(got.distance - expected) < 1e-9 * Math.abs(expected), `${got.distance} vs ${expected}`);
});

test('Frechet distance with fewer samples than dimensions (singular covariances) matches the eigen route', () => {
  const truth = randomRows(20, 33);
  const preds = randomRows(25, 33);
  const s1 = covariance(truth);
  const s2 = covariance(preds);
  const got = frechetFromFeatures(truth, preds);
  const mu1 = truth.reduce((m, r) => m.map((v, j) => v + r[j] / 20), new Array(33).fill(0));
  const mu2 = preds.reduce((m, r) => m.map((v, j) => v + r[j] / 25), new Array(33).fill(0));
  const diff2 = mu1.reduce((s, v, j) => s + (v - mu2[j]) ** 2, 0);
  const expected = diff2 + trace(s1) + trace(s2) - 2 * traceSqrtByEigen(s1, s2);
  assert.equal(got.regularized, false);
  assert.ok(Math.abs(got.distance - expected) < 1e-9 * Math.abs(expected), `${got.distance} vs ${expected}`);
});
