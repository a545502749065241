/**
 * Float64 dense linear algebra for the Frechet distance: means, covariances, products, Cholesky and
 * the symmetric eigendecomposition (Householder tridiagonalisation + implicit QL, the classic
 * tred2/tql2 pair), all on row-major Float64Array matrices.
 * Speed comes from memory order (every inner loop walks a contiguous row) and from running the
 * O(n^3) products through one register-tiled WebAssembly SIMD kernel (rowDots).
 */

/**
 * A dense n x n float64 matrix, row-major.
 *
 * @inline
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

const roundUp4 = (n: number) => (n + 3) & ~3;

/** Options for rowDots: which output tiles to compute and where each dot product may start. */
interface RowDotsOptions {
  /** Only tiles on or below the diagonal (the caller mirrors them): for symmetric results. */
  lowerOnly?: boolean;
  /** Rows of A are zero before their own index (A is upper triangular): start each dot there. */
  aUpperTriangular?: boolean;
}

/**
 * C[i][j] = dot(A row i, B row j) for an (m x k) A and (n x k) B, i.e. C = A B^T, with m and n
 * multiples of 4 and k even (callers pad with zeros). The products run in the WebAssembly SIMD
 * kernel below, a 2x4 tile at a time.
 * Pass the same array as A and B for a Gram matrix: it is copied once.
 */
function rowDots(A: Float64Array, B: Float64Array, m: number, n: number, k: number, opts: RowDotsOptions = {}): Float64Array {
  const aOff = 0;
  const bOff = A === B ? 0 : m * k;
  const cOff = bOff + (A === B ? m * k : n * k);
  const { tile } = simd();
  const mem = wasmDoubles(cOff + m * n);
  mem.set(A, aOff);
  if (A !== B) mem.set(B, bOff);
  mem.fill(0, cOff, cOff + m * n);
  // Blocks of KB columns by JB rows of B (512 KiB) stay in L2 while every pair of A rows passes.
  const KB = 512;
  const JB = 128;
  for (let k0 = 0; k0 < k; k0 += KB) {
    const k1 = Math.min(k, k0 + KB);
    for (let j0 = 0; j0 < n; j0 += JB) {
      for (let i = 0; i < m; i += 2) {
        const start = opts.aUpperTriangular ? Math.max(k0, i) : k0;
        const j1 = Math.min(n, j0 + JB, opts.lowerOnly ? (i & ~3) + 4 : n);
        if (start >= k1 || j1 <= j0) continue;
        tile((aOff + i * k + start) * 8, (bOff + j0 * k + start) * 8, (cOff + i * n + j0) * 8, (j1 - j0) >> 2, k1 - start, k * 8, n * 8);
      }
    }
  }
  return mem.slice(cOff, cOff + m * n);
}

/** The slice of the WebAssembly API used here (the project's lib setting, ES2022, does not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

type SimdKernels = {
  memory: WasmMemory;
  /** C[r][q] += dot(A row r, B row q) over `len` doubles for r < 2, q < 4; then the next 4 B rows, `jTiles` times. Byte addresses and strides. */
  tile: (a: number, b: number, c: number, jTiles: number, len: number, ldk: number, ldc: number) => void;
  /**
   * One row of the fused tridiagonalisation sweep over `len` (even) doubles at `row`:
   * row -= ukOld qOld + qkOld uOld (the pending rank-2 update), then p += uk row; returns row . u.
   */
  sweep: (row: number, len: number, uOld: number, qOld: number, ukOld: number, qkOld: number, u: number, p: number, uk: number) => number;
  /** y += alpha x over `len` (even) doubles. */
  axpy: (y: number, x: number, len: number, alpha: number) => void;
  /** The plane rotation (x, y) <- (c x - s y, s x + c y) over `len` (even) doubles. */
  rot: (x: number, y: number, len: number, c: number, s: number) => void;
};

let simdInstance: SimdKernels | undefined;

function simd(): SimdKernels {
  if (!simdInstance) {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(simdModule()), { env: { mem: memory } });
    simdInstance = {
      memory,
      tile: exports.tile as SimdKernels['tile'],
      sweep: exports.sweep as SimdKernels['sweep'],
      axpy: exports.axpy as SimdKernels['axpy'],
      rot: exports.rot as SimdKernels['rot'],
    };
  }
  return simdInstance;
}

/** A view of the kernels' memory holding at least `count` doubles (grown as needed; views go stale on growth). */
function wasmDoubles(count: number): Float64Array {
  const { memory } = simd();
  const have = memory.buffer.byteLength;
  if (count * 8 > have) memory.grow(Math.ceil((count * 8 - have) / 65536));
  return new Float64Array(memory.buffer);
}

/**
 * The binary of a small WebAssembly module (SIMD, f64x2), assembled here so the project carries
 * no binary file or build step. `tile` keeps a 2x4 tile's 8 accumulators in v128 registers: per
 * step 6 loads feed 16 multiply-adds, about 2.5x the best scalar JavaScript tile. `sweep`, `axpy`
 * and `rot` are the inner loops of the tridiagonalisation, the eigenvector accumulation and the QL
 * rotations, two doubles at a time.
 */
function simdModule(): Uint8Array {
  const uleb = (v: number): number[] => {
    const out: number[] = [];
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v) byte |= 0x80;
      out.push(byte);
    } while (v);
    return out;
  };
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const i32 = (v: number) => [0x41, ...uleb(v)]; // small non-negative constants only (< 64)
  const [ADD, SUB, SHL, EQZ, GE_U] = [0x6a, 0x6b, 0x74, 0x45, 0x4f];
  const [BLOCK, LOOP, END, BR, BR_IF] = [[0x02, 0x40], [0x03, 0x40], 0x0b, 0x0c, 0x0d];
  const V128_LOAD = [0xfd, 0x00, 4, 0];
  const V128_STORE = [0xfd, 0x0b, 4, 0];
  const F64X2_SPLAT = [0xfd, 0x14];
  const F64X2_ADD = [0xfd, 0xf0, 0x01];
  const F64X2_SUB = [0xfd, 0xf1, 0x01];
  const F64X2_MUL = [0xfd, 0xf2, 0x01];
  const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const lane = (l: number) => [0xfd, 0x21, l];
  const F64_ADD = 0xa0;
  const f64Load = (off: number) => [0x2b, 3, ...uleb(off)];
  const f64Store = (off: number) => [0x39, 3, ...uleb(off)];
  const [I32, F64, V128] = [0x7f, 0x7c, 0x7b];

  // tile. Params 0-6: a, b, c, jTiles, len, ldk, ldc. i32 locals 7-12: p, lenBytes, b1, b2, b3, a1.
  // v128 locals 13-20: acc[row * 4 + col]; 21-22: the two A values; 23: the B value.
  const tile = (() => {
    const [A, B, C, JT, LEN, LDK, LDC, P, LENB, B1, B2, B3, A1, ACC, X0, X1, Y] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 21, 22, 23];
    const bRows = [B, B1, B2, B3];
    const body = [
      ...get(LEN), ...i32(3), SHL, ...set(LENB),
      ...get(A), ...get(LDK), ADD, ...set(A1),
      ...BLOCK, ...LOOP, // over tiles of 4 B rows
      ...get(JT), EQZ, BR_IF, 1,
      ...get(B), ...get(LDK), ADD, ...tee(B1), ...get(LDK), ADD, ...tee(B2), ...get(LDK), ADD, ...set(B3),
      ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((q) => [...V128_ZERO, ...set(ACC + q)]),
      ...i32(0), ...set(P),
      ...BLOCK, ...LOOP, // over the dot products' length, two doubles a step
      ...get(P), ...get(LENB), GE_U, BR_IF, 1,
      ...get(A), ...get(P), ADD, ...V128_LOAD, ...set(X0),
      ...get(A1), ...get(P), ADD, ...V128_LOAD, ...set(X1),
      ...bRows.flatMap((row, q) => [
        ...get(row), ...get(P), ADD, ...V128_LOAD, ...set(Y),
        ...get(ACC + q), ...get(X0), ...get(Y), ...F64X2_MUL, ...F64X2_ADD, ...set(ACC + q),
        ...get(ACC + 4 + q), ...get(X1), ...get(Y), ...F64X2_MUL, ...F64X2_ADD, ...set(ACC + 4 + q),
      ]),
      ...get(P), ...i32(16), ADD, ...set(P),
      BR, 0,
      END, END,
      ...[0, 1].flatMap((r) => [0, 1, 2, 3].flatMap((q) => {
        const addr = r ? [...get(C), ...get(LDC), ADD] : get(C);
        return [...addr, ...addr, ...f64Load(q * 8), ...get(ACC + 4 * r + q), ...lane(0), F64_ADD, ...get(ACC + 4 * r + q), ...lane(1), F64_ADD, ...f64Store(q * 8)];
      })),
      ...get(C), ...i32(32), ADD, ...set(C),
      ...get(B3), ...get(LDK), ADD, ...set(B),
      ...get(JT), ...i32(1), SUB, ...set(JT),
      BR, 0,
      END, END,
      END,
    ];
    return [2, 6, I32, 11, V128, ...body];
  })();

  // sweep. Params 0-8: row, len, uOld, qOld, ukOld (f64), qkOld (f64), u, p, uk (f64).
  // i32 locals 9-10: offset, lenBytes. v128 locals 11-15: dot accumulator, splats of ukOld, qkOld, uk; the row value.
  const sweep = (() => {
    const [ROW, LEN, UOLD, QOLD, UKOLD, QKOLD, U, P, UK, OFF, LENB, S, SA, SB, SC, R] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const at = (base: number) => [...get(base), ...get(OFF), ADD];
    const body = [
      ...get(LEN), ...i32(3), SHL, ...set(LENB),
      ...get(UKOLD), ...F64X2_SPLAT, ...set(SA),
      ...get(QKOLD), ...F64X2_SPLAT, ...set(SB),
      ...get(UK), ...F64X2_SPLAT, ...set(SC),
      ...V128_ZERO, ...set(S),
      ...BLOCK, ...LOOP,
      ...get(OFF), ...get(LENB), GE_U, BR_IF, 1,
      // r = row - (ukOld qOld + qkOld uOld); row = r
      ...at(ROW), ...V128_LOAD,
      ...get(SA), ...at(QOLD), ...V128_LOAD, ...F64X2_MUL, ...get(SB), ...at(UOLD), ...V128_LOAD, ...F64X2_MUL, ...F64X2_ADD,
      ...F64X2_SUB, ...set(R),
      ...at(ROW), ...get(R), ...V128_STORE,
      // s += r u; p += r uk
      ...get(S), ...get(R), ...at(U), ...V128_LOAD, ...F64X2_MUL, ...F64X2_ADD, ...set(S),
      ...at(P), ...at(P), ...V128_LOAD, ...get(R), ...get(SC), ...F64X2_MUL, ...F64X2_ADD, ...V128_STORE,
      ...get(OFF), ...i32(16), ADD, ...set(OFF),
      BR, 0,
      END, END,
      ...get(S), ...lane(0), ...get(S), ...lane(1), F64_ADD,
      END,
    ];
    return [2, 2, I32, 5, V128, ...body];
  })();

  // axpy. Params 0-3: y, x, len, alpha (f64). i32 locals 4-5: offset, lenBytes; v128 local 6: splat of alpha.
  const axpy = (() => {
    const [Yp, Xp, LEN, ALPHA, OFF, LENB, SA] = [0, 1, 2, 3, 4, 5, 6];
    const at = (base: number) => [...get(base), ...get(OFF), ADD];
    return [2, 2, I32, 1, V128,
      ...get(LEN), ...i32(3), SHL, ...set(LENB),
      ...get(ALPHA), ...F64X2_SPLAT, ...set(SA),
      ...BLOCK, ...LOOP,
      ...get(OFF), ...get(LENB), GE_U, BR_IF, 1,
      ...at(Yp), ...at(Yp), ...V128_LOAD, ...get(SA), ...at(Xp), ...V128_LOAD, ...F64X2_MUL, ...F64X2_ADD, ...V128_STORE,
      ...get(OFF), ...i32(16), ADD, ...set(OFF),
      BR, 0,
      END, END,
      END,
    ];
  })();

  // rot. Params 0-4: x, y, len, c (f64), s (f64). i32 locals 5-6: offset, lenBytes; v128 locals 7-10: splats of c and s, x and y values.
  const rot = (() => {
    const [Xp, Yp, LEN, Cc, Ss, OFF, LENB, SC, SS, VX, VY] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const at = (base: number) => [...get(base), ...get(OFF), ADD];
    return [2, 2, I32, 4, V128,
      ...get(LEN), ...i32(3), SHL, ...set(LENB),
      ...get(Cc), ...F64X2_SPLAT, ...set(SC),
      ...get(Ss), ...F64X2_SPLAT, ...set(SS),
      ...BLOCK, ...LOOP,
      ...get(OFF), ...get(LENB), GE_U, BR_IF, 1,
      ...at(Xp), ...V128_LOAD, ...set(VX),
      ...at(Yp), ...V128_LOAD, ...set(VY),
      ...at(Yp), ...get(SS), ...get(VX), ...F64X2_MUL, ...get(SC), ...get(VY), ...F64X2_MUL, ...F64X2_ADD, ...V128_STORE,
      ...at(Xp), ...get(SC), ...get(VX), ...F64X2_MUL, ...get(SS), ...get(VY), ...F64X2_MUL, ...F64X2_SUB, ...V128_STORE,
      ...get(OFF), ...i32(16), ADD, ...set(OFF),
      BR, 0,
      END, END,
      END,
    ];
  })();

  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const code = (fn: number[]) => [...uleb(fn.length), ...fn];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [
      4,
      0x60, 7, ...new Array(7).fill(I32), 0, // tile: (i32 x 7) -> ()
      0x60, 9, I32, I32, I32, I32, F64, F64, I32, I32, F64, 1, F64, // sweep -> f64
      0x60, 4, I32, I32, I32, F64, 0, // axpy
      0x60, 5, I32, I32, I32, F64, F64, 0, // rot
    ]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 0x01]), // imported memory
    ...section(3, [4, 0, 1, 2, 3]),
    ...section(7, [4, ...name('tile'), 0x00, 0, ...name('sweep'), 0x00, 1, ...name('axpy'), 0x00, 2, ...name('rot'), 0x00, 3]),
    ...section(10, [4, ...code(tile), ...code(sweep), ...code(axpy), ...code(rot)]),
  ]);
}

/** The n x n matrix (or its transpose) zero-padded to size x size, size >= n. */
function pad(a: Matrix, size: number, transpose = false): Float64Array {
  const n = a.n;
  const out = new Float64Array(size * size);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[(transpose ? j * size + i : i * size + j)] = a.data[i * n + j];
  }
  return out;
}

/** Top-left n x n block of a padded (rows x cols) result; with `mirror`, the lower triangle is copied up. */
function crop(c: Float64Array, cols: number, n: number, mirror = false): Matrix {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    if (mirror) {
      for (let j = 0; j <= i; j++) {
        const v = c[i * cols + j];
        out[i * n + j] = v;
        out[j * n + i] = v;
      }
    } else out.set(c.subarray(i * cols, i * cols + n), i * n);
  }
  return { n, data: out };
}

/** Sample covariance with n-1 in the denominator, like np.cov(x, rowvar=False). */
export function covariance(rows: readonly ArrayLike<number>[], mu = columnMean(rows)): Matrix {
  const d = mu.length;
  const n = rows.length;
  const d4 = roundUp4(d);
  const sum = new Float64Array(d4 * d4);
  // Samples in chunks (memory stays O(d^2) for any count): centred features transposed
  // (feature-major), so each covariance entry is a contiguous dot product; zero rows and
  // column pad to the kernel's multiples.
  const CHUNK = 2048;
  for (let s0 = 0; s0 < n; s0 += CHUNK) {
    const count = Math.min(CHUNK, n - s0);
    const k = count + (count & 1);
    const xt = new Float64Array(d4 * k);
    for (let s = 0; s < count; s++) {
      const r = rows[s0 + s];
      for (let j = 0; j < d; j++) xt[j * k + s] = r[j] - mu[j];
    }
    const part = rowDots(xt, xt, d4, d4, k, { lowerOnly: true });
    for (let i = 0; i < sum.length; i++) sum[i] += part[i];
  }
  const c = crop(sum, d4, d, true);
  for (let i = 0; i < c.data.length; i++) c.data[i] /= n - 1;
  return c;
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  const n4 = roundUp4(a.n);
  return crop(rowDots(pad(a, n4), pad(b, n4, true), n4, n4, n4), n4, a.n);
}

/** a b a for symmetric a and b (zero-padded sizes keep the padding zero through the products). */
export function congruence(a: Matrix, b: Matrix): Matrix {
  const n4 = roundUp4(a.n);
  const pa = pad(a, n4);
  const ab = rowDots(pa, pad(b, n4), n4, n4, n4); // rows of a . rows of b = a b, as b is symmetric
  return crop(rowDots(ab, pa, n4, n4, n4, { lowerOnly: true }), n4, a.n, true); // (a b) a, a symmetric
}

/**
 * L^T s L for a lower-triangular L (a Cholesky factor) and symmetric s: similar to s L L^T and
 * symmetric. Both products take rows of L^T, which are zero before the diagonal, so they skip them.
 */
export function choleskyCongruence(l: Matrix, s: Matrix): Matrix {
  const n4 = roundUp4(l.n);
  const lt = pad(l, n4, true);
  const ltS = rowDots(lt, pad(s, n4), n4, n4, n4, { aUpperTriangular: true }); // L^T s (s symmetric)
  // (L^T s L)[i][j] = sum_k L^T[i][k] (s L)[k][j] = row i of L^T . row j of L^T s.
  return crop(rowDots(lt, ltS, n4, n4, n4, { lowerOnly: true, aUpperTriangular: true }), n4, l.n, true);
}

/**
 * Lower-triangular L with L L^T = a, or null when a pivot is not positive (a is then not
 * numerically positive definite). Blocked right-looking: each block column is factored with
 * row-contiguous dot products, and the trailing matrix's update (the O(n^3) part) is one
 * lower-half rowDots product of the panel with itself.
 */
export function cholesky(a: Matrix): Matrix | null {
  const n = a.n;
  const A = Float64Array.from(a.data); // trailing part updated in place; L overwrites the lower triangle
  const NB = 64;
  for (let J = 0; J < n; J += NB) {
    const jEnd = Math.min(n, J + NB);
    for (let i = J; i < n; i++) {
      const ri = i * n;
      for (let j = J; j <= Math.min(i, jEnd - 1); j++) {
        const rj = j * n;
        let s = A[ri + j];
        for (let k = J; k < j; k++) s -= A[ri + k] * A[rj + k];
        if (i === j) {
          if (!(s > 0)) return null;
          A[ri + i] = Math.sqrt(s);
        } else A[ri + j] = s / A[rj + j];
      }
    }
    const rest = n - jEnd;
    if (rest === 0) continue;
    // Trailing update A22 -= P P^T, P = L[jEnd.., J..jEnd) padded to the kernel's multiples.
    const m4 = roundUp4(rest);
    const kw = (jEnd - J + 1) & ~1;
    const panel = new Float64Array(m4 * kw);
    for (let i = 0; i < rest; i++) panel.set(A.subarray((jEnd + i) * n + J, (jEnd + i) * n + jEnd), i * kw);
    const ppt = rowDots(panel, panel, m4, m4, kw, { lowerOnly: true });
    for (let i = 0; i < rest; i++) {
      const ri = (jEnd + i) * n + jEnd;
      for (let j = 0; j <= i; j++) A[ri + j] -= ppt[i * m4 + j];
    }
  }
  for (let i = 0; i < n; i++) A.fill(0, i * n + i + 1, (i + 1) * n);
  return { n, data: A };
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
  const t = tridiagonalize(a);
  // Kernel memory: Q (n rows of stride ld, even for the SIMD loops), then the eigenvector rows
  // (Q^T: QL rotations act on eigenvector columns, kept as rows so each rotation is contiguous).
  const ld = n + (n & 1);
  const vtOff = n * ld;
  householderProduct(t, n, ld);
  const mem = wasmDoubles(vtOff + n * ld);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) mem[vtOff + k * ld + i] = mem[i * ld + k];
  tql2(n, { off: vtOff, ld }, t.d, t.e);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) vectors.set(mem.subarray(vtOff + k * ld, vtOff + k * ld + n), k * n);
  return { values: t.d, vectors: { n, data: vectors } };
}

/** Eigenvalues only (ascending): skips accumulating the transformations, several times faster. */
export function symmetricEigenvalues(a: Matrix): Float64Array {
  const t = tridiagonalize(a);
  tql2(a.n, null, t.d, t.e);
  return t.d;
}

/**
 * Householder reduction to tridiagonal form, EISPACK tred2's arithmetic (as in JAMA) rearranged
 * to work on the rows of the lower triangle, reducing row i from the last row up. Each step's
 * rank-2 update is fused with the next step's matrix-vector product into one pass over the
 * active rows (the WebAssembly `sweep`), so the matrix streams through memory once per step.
 * Returns the diagonal `d`, the sub-diagonal `e` (e[i] couples i-1 and i, e[0] = 0), and, for
 * the eigenvectors, Householder vector i in row i of `w` (columns 0..i-1) with its norm h[i].
 */
function tridiagonalize(a: Matrix): { d: Float64Array; e: Float64Array; w: Float64Array; h: Float64Array } {
  const n = a.n;
  const { sweep } = simd();
  // Kernel memory: the matrix, then two n-vectors that take turns as the new product p and the
  // pending update's q, then a zero vector that stands in for "no pending update".
  const W = 0;
  let pOff = n * n;
  let qOff = pOff + n;
  const zOff = qOff + n;
  const mem = wasmDoubles(zOff + n);
  mem.set(a.data, W);
  mem.fill(0, pOff, zOff + n);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const h = new Float64Array(n);
  // The last reflector's rank-2 update A -= u q^T + q u^T is applied lazily, row by row.
  let uOff = zOff;
  let pendingQ = zOff;
  const applyPending = (k: number) => {
    const rk = W + k * n;
    const uk = mem[uOff + k];
    const qk = mem[pendingQ + k];
    for (let j = 0; j <= k; j++) mem[rk + j] -= uk * mem[pendingQ + j] + qk * mem[uOff + j];
  };
  for (let i = n - 1; i > 0; i--) {
    const ri = W + i * n;
    applyPending(i);
    let scale = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(mem[ri + k]);
    if (scale === 0) {
      e[i] = mem[ri + i - 1];
      continue;
    }
    let hi = 0;
    for (let k = 0; k < i; k++) {
      const u = mem[ri + k] / scale;
      mem[ri + k] = u;
      hi += u * u;
    }
    const f = mem[ri + i - 1];
    const g = f > 0 ? -Math.sqrt(hi) : Math.sqrt(hi);
    e[i] = scale * g;
    hi -= f * g;
    mem[ri + i - 1] = f - g;
    h[i] = hi;
    // One pass over rows 0..i-1: finish the pending update, then p = A u (lower triangle read once).
    mem.fill(0, pOff, pOff + i);
    for (let k = 0; k < i; k++) {
      const rk = W + k * n;
      const uk = mem[ri + k];
      const ukOld = mem[uOff + k];
      const qkOld = mem[pendingQ + k];
      const even = k & ~1;
      let s = sweep(rk * 8, even, uOff * 8, pendingQ * 8, ukOld, qkOld, ri * 8, pOff * 8, uk);
      for (let j = even; j <= k; j++) {
        const v = mem[rk + j] - (ukOld * mem[pendingQ + j] + qkOld * mem[uOff + j]);
        mem[rk + j] = v;
        if (j < k) {
          s += v * mem[ri + j];
          mem[pOff + j] += v * uk;
        } else mem[pOff + k] += s + v * uk;
      }
    }
    let fp = 0;
    for (let j = 0; j < i; j++) {
      mem[pOff + j] /= hi;
      fp += mem[pOff + j] * mem[ri + j];
    }
    const hh = fp / (hi + hi);
    for (let j = 0; j < i; j++) mem[pOff + j] -= hh * mem[ri + j];
    uOff = ri;
    pendingQ = pOff;
    [pOff, qOff] = [qOff, pOff];
  }
  applyPending(0);
  const w = mem.slice(W, W + n * n);
  for (let j = 0; j < n; j++) d[j] = w[j * n + j];
  e[0] = 0;
  return { d, e, w, h };
}

/**
 * Q with A = Q T Q^T from tridiagonalize's Householder vectors (tred2's accumulation, by rows),
 * built in kernel memory at offset 0 with row stride ld (even, > n - 1), followed by ld scratch doubles.
 */
function householderProduct(t: { w: Float64Array; h: Float64Array }, n: number, ld: number): void {
  const { w, h } = t;
  const { axpy } = simd();
  const gOff = n * ld;
  const mem = wasmDoubles(gOff + ld);
  mem.fill(0, 0, gOff + ld);
  for (let i = 0; i < n; i++) mem[i * ld + i] = 1;
  // Reflector i+1 acts on the top-left (i+1) x (i+1) block, the only part of Q built so far; an
  // odd block width is rounded up, as the next column of those rows is still zero.
  for (let i = 0; i < n - 1; i++) {
    const hi = h[i + 1];
    if (hi === 0) continue;
    const ru = (i + 1) * n;
    const len = (i + 2) & ~1;
    mem.fill(0, gOff, gOff + len);
    for (let k = 0; k <= i; k++) {
      const uk = w[ru + k];
      if (uk !== 0) axpy(gOff * 8, k * ld * 8, len, uk);
    }
    for (let k = 0; k <= i; k++) {
      const c = w[ru + k] / hi;
      if (c !== 0) axpy(k * ld * 8, gOff * 8, len, -c);
    }
  }
}

/**
 * Implicit QL iterations on the tridiagonal form (EISPACK tql2, as in JAMA); sorts ascending.
 * `vt` locates the eigenvectors in kernel memory as rows (JAMA's columns) of stride ld (even), or
 * is null for eigenvalues only.
 */
function tql2(n: number, vt: { off: number; ld: number } | null, d: Float64Array, e: Float64Array): void {
  const { rot } = simd();
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
          if (vt) rot((vt.off + i * vt.ld) * 8, (vt.off + (i + 1) * vt.ld) * 8, vt.ld, c, s);
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
      if (vt) {
        const mem = wasmDoubles(0);
        const [ri, rk] = [vt.off + i * vt.ld, vt.off + k * vt.ld];
        const row = mem.slice(ri, ri + vt.ld);
        mem.copyWithin(ri, rk, rk + vt.ld);
        mem.set(row, rk);
      }
    }
  }
}

/** Square root of a symmetric positive semi-definite matrix; tiny negative eigenvalues count as 0. */
export function sqrtPsd(a: Matrix, eig = symmetricEigen(a)): Matrix {
  const { values, vectors } = eig;
  const n = a.n;
  const n4 = roundUp4(n);
  // sum_k sqrt(l_k) v_k v_k^T = W W^T with W[i][k] = l_k^(1/4) v_k[i].
  const wt = new Float64Array(n4 * n4);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.sqrt(Math.max(0, values[k])));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) wt[i * n4 + k] = s * vectors.data[k * n + i];
  }
  return crop(rowDots(wt, wt, n4, n4, n4, { lowerOnly: true }), n4, n, true);
}
