import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { projectRoot } from '../../core/paths.js';

/**
 * The C++ addon (`native/`, built by `npm ci` over Debian's libtorch). Tensors are slot numbers
 * into a table the addon keeps per Node environment; a single result's dtype code and shape are
 * written to the Int32Array given to `init` as [dtype, rank, dim0, ..., dim7].
 */
type Slot = number;
type Slots = Slot[];
type Ints = number[] | Int32Array;
type Opt = Slot | null;

/**
 * The C++ addon (`native/`, built by `npm ci` over Debian's libtorch). Tensors are slot numbers
 * into a table the addon keeps per Node environment; a single result's dtype code and shape are
 * written to the Int32Array given to `init` as [dtype, rank, dim0, ..., dim7]. Each op is
 * documented beside its C++ definition in native/src.
 */
export interface NativeAddon {
  init(meta: Int32Array): void;
  write(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: number): Slot;
  read(slot: Slot): Float32Array | Int32Array | Uint8Array;
  dispose(slot: Slot): void;
  describe(slot: Slot): void;
  stats(): [number, number];
  setThreads(n: number): number;
  info(): { torch: string; threads: number; parallel: string; mkldnn: boolean; blas: string; blasThreads: number };
  unaryNames(): string[];
  binaryNames(): string[];

  unary(code: number, x: Slot): Slot;
  binary(code: number, a: Slot, b: Slot): Slot;
  cast(x: Slot, dtype: number): Slot;
  step(x: Slot, alpha: number): Slot;
  clip(x: Slot, min: number, max: number): Slot;
  leakyRelu(x: Slot, alpha: number): Slot;
  eluGrad(dy: Slot, y: Slot): Slot;
  select(condition: Slot, t: Slot, e: Slot): Slot;
  addN(xs: Slots): Slot;
  fill(shape: number[], value: number, dtype: number): Slot;

  reduce(code: number, x: Slot, axes: number[], keepDims: boolean): Slot;
  argReduce(x: Slot, axis: number, isMax: boolean): Slot;
  cumulative(x: Slot, axis: number, exclusive: boolean, reverse: boolean, isProd: boolean): Slot;
  softmax(x: Slot, dim: number): Slot;
  topk(x: Slot, k: number): Slots;
  unsortedSegmentSum(x: Slot, segmentIds: Slot, numSegments: number): Slot;

  matMul(a: Slot, b: Slot, transposeA: boolean, transposeB: boolean): Slot;
  fusedMatMul(a: Slot, b: Slot, transposeA: boolean, transposeB: boolean, bias: Opt, activation: number, prelu: Opt, leakyAlpha: number): Slot;
  einsum(equation: string, xs: Slots): Slot;

  conv(x: Slot, filter: Slot, strides: Ints, pads: Ints, dilations: Ints, depthwise: boolean, nchw: boolean,
    bias: Opt, activation: number, prelu: Opt, leakyAlpha: number): Slot;
  convBackpropInput(dy: Slot, filter: Slot, inputShape: Ints, strides: Ints, pads: Ints, dilations: Ints, depthwise: boolean, nchw: boolean): Slot;
  convBackpropFilter(x: Slot, dy: Slot, filterShape: Ints, strides: Ints, pads: Ints, dilations: Ints, depthwise: boolean, nchw: boolean): Slot;
  pool(x: Slot, isMax: boolean, kernel: Ints, strides: Ints, pads: Ints): Slot;
  poolGrad(dy: Slot, x: Slot, isMax: boolean, kernel: Ints, strides: Ints, pads: Ints): Slot;
  batchNorm(x: Slot, mean: Slot, variance: Slot, offset: Opt, scale: Opt, epsilon: number): Slot;

  reshape(x: Slot, shape: number[]): Slot;
  transpose(x: Slot, perm: number[]): Slot;
  expandDims(x: Slot, axis: number): Slot;
  slice(x: Slot, begin: number[], size: number[]): Slot;
  stridedSlice(x: Slot, begin: number[], strides: number[], counts: number[], finalShape: number[]): Slot;
  concat(xs: Slots, axis: number): Slot;
  stack(xs: Slots, axis: number): Slot;
  unstack(x: Slot, axis: number): Slots;
  split(x: Slot, sizes: number[], axis: number): Slots;
  pad(x: Slot, pads: number[], value: number): Slot;
  mirrorPad(x: Slot, pads: number[], symmetric: boolean): Slot;
  tile(x: Slot, reps: number[]): Slot;
  reverse(x: Slot, axes: number[]): Slot;
  gather(x: Slot, indices: Slot, axis: number, batchDims: number): Slot;
  gatherNd(params: Slot, indices: Slot): Slot;
  scatterNd(indices: Slot, updates: Slot, shape: number[]): Slot;
  tensorScatterUpdate(tensor: Slot, indices: Slot, updates: Slot): Slot;
  oneHot(indices: Slot, depth: number, onValue: number, offValue: number, dtype: number): Slot;
  diag(x: Slot): Slot;
  depthToSpace(x: Slot, blockSize: number, nchw: boolean): Slot;
  spaceToBatchND(x: Slot, blockShape: number[], pads: number[]): Slot;
  batchToSpaceND(x: Slot, blockShape: number[], crops: number[]): Slot;
  searchSorted(sorted: Slot, values: Slot, right: boolean): Slot;

  reluGrad(dy: Slot, x: Slot): Slot;
  relu6Grad(dy: Slot, x: Slot): Slot;
  clipGrad(dy: Slot, x: Slot, min: number, max: number): Slot;
  stepFloat(x: Slot, alpha: number): Slot;
  batchNormTrain(x: Slot, scale: Slot, offset: Slot, movingMean: Slot, movingVariance: Slot, epsilon: number, decay: number): Slots;
  batchNormTrainGrad(dy: Slot, x: Slot, scale: Slot, mean: Slot, variance: Slot, epsilon: number): Slots;
  adam(value: Slot, m: Slot, v: Slot, g: Slot, lr: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    epsilon: number, oneMinusAccBeta1: number, oneMinusAccBeta2: number): Slots;

  resizeBilinear(x: Slot, rowLo: Int32Array, rowHi: Int32Array, rowFrac: Float32Array, colLo: Int32Array, colHi: Int32Array, colFrac: Float32Array): Slot;
  resizeBilinearGrad(dy: Slot, inHeight: number, inWidth: number, rowLo: Int32Array, rowHi: Int32Array, rowFrac: Float32Array,
    colLo: Int32Array, colHi: Int32Array, colFrac: Float32Array): Slot;
  resizeNearest(x: Slot, rows: Int32Array, cols: Int32Array): Slot;
  resizeNearestGrad(dy: Slot, inHeight: number, inWidth: number, rows: Int32Array, cols: Int32Array): Slot;
  flipLeftRight(x: Slot): Slot;
}

/** What to run to get the native backend, for every message that falls back to wasm. */
export const NATIVE_INSTALL_HINT = 'install libtorch (apt-get install libtorch-dev libopenblas0-openmp) and build it (npm run build:native)';

export type NativeLoad = { ok: true; addon: NativeAddon; file: string } | { ok: false; reason: string };

/** Where the built addon lives; `KILN_NATIVE_ADDON` points elsewhere (tests use it). */
export function nativeAddonPath(): string {
  return process.env.KILN_NATIVE_ADDON ?? path.join(projectRoot(), 'native', 'build', 'Release', 'kiln_native.node');
}

let cached: NativeLoad | undefined;

/**
 * Loads the addon once. Every failure (not built, libtorch missing or of another version, missing
 * symbols) is a reason string, never an exception: the caller falls back to wasm.
 */
export function loadNativeAddon(): NativeLoad {
  if (cached) return cached;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    cached = { ok: false, reason: 'the native addon is not built' };
    return cached;
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    for (const fn of ['init', 'write', 'read', 'dispose', 'info', 'setThreads', 'unaryNames', 'binaryNames'] as const) {
      if (typeof addon[fn] !== 'function') throw new Error(`the addon has no '${fn}' (built from another version of Kiln?)`);
    }
    addon.info();
    cached = { ok: true, addon, file };
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    cached = { ok: false, reason: `the native addon does not load (${message})` };
  }
  return cached;
}
