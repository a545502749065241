import { KilnError } from '../core/index.js';
import { tf } from '../backend/index.js';
import { forwardAll, type ConvGeometry, type Graph, type LinearParams } from './graph.js';
import { safeDivide } from './rules.js';

/**
 * PatternNet / PatternAttribution patterns (Kindermans et al. 2018). For each output neuron j of a
 * linear layer with weight w_j, the pattern a_j = cov(x, y_j) / (w_j^T cov(x, y_j)), where for the
 * 'relu' estimator (A+, iNNvestigate's default) the covariance is taken over the examples where
 * y_j > 0 and for 'linear' over all examples. Statistics for every layer are accumulated in the
 * same single pass over the training data.
 */
export type PatternType = 'relu' | 'linear';
export const PATTERN_TYPES: readonly PatternType[] = ['relu', 'linear'];

/** Inputs as [groups, rows, K] and outputs as [groups, rows, J]: dense and conv have one group, depthwise one per channel. */
interface Rows {
  x: tf.Tensor3D;
  y: tf.Tensor3D;
}

/** Input windows of a convolution: [N, outH, outW, kh * kw, C], window index i * kw + j. */
export function extractPatches(x: tf.Tensor4D, g: ConvGeometry): tf.Tensor5D {
  const [n, h, w, c] = x.shape;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  const span = (k: number, d: number): number => (k - 1) * d + 1;
  const out = (size: number, k: number, s: number, d: number): number =>
    g.padding === 'same' ? Math.ceil(size / s) : Math.ceil((size - span(k, d) + 1) / s);
  const oh = out(h, kh, sh, dh);
  const ow = out(w, kw, sw, dw);
  const padH = g.padding === 'same' ? Math.max((oh - 1) * sh + span(kh, dh) - h, 0) : 0;
  const padW = g.padding === 'same' ? Math.max((ow - 1) * sw + span(kw, dw) - w, 0) : 0;
  const padded = tf.pad(x, [[0, 0], [Math.floor(padH / 2), padH - Math.floor(padH / 2)],
    [Math.floor(padW / 2), padW - Math.floor(padW / 2)], [0, 0]]);
  const windows: tf.Tensor4D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      windows.push(tf.stridedSlice(padded, [0, i * dh, j * dw, 0],
        [n, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, c], [1, sh, sw, 1]) as tf.Tensor4D);
    }
  }
  return tf.stack(windows, 3) as tf.Tensor5D;
}

function rowsOf(layer: LinearParams, x: tf.Tensor, y: tf.Tensor): Rows {
  if (layer.kind === 'dense') {
    const k = x.shape[x.rank - 1];
    return { x: tf.reshape(x, [1, -1, k]), y: tf.reshape(y, [1, -1, y.shape[y.rank - 1]]) };
  }
  const patches = extractPatches(x as tf.Tensor4D, layer.conv!);
  const [, , , windows, c] = patches.shape;
  if (layer.kind === 'conv2d') {
    return { x: tf.reshape(patches, [1, -1, windows * c]), y: tf.reshape(y, [1, -1, y.shape[3] as number]) };
  }
  // depthwise: output channel c * mult + m reads only input channel c.
  const mult = layer.weight.shape[3] as number;
  return {
    x: tf.transpose(tf.reshape(patches, [-1, windows, c]), [2, 0, 1]),
    y: tf.transpose(tf.reshape(y, [-1, c, mult]), [1, 0, 2]),
  };
}

/** The weight in the same [groups, K, J] layout as the statistics. */
function groupedWeight(layer: LinearParams): tf.Tensor3D {
  const w = layer.weight;
  if (layer.kind === 'depthwise') {
    const [kh, kw, c, mult] = w.shape;
    return tf.transpose(tf.reshape(w, [kh * kw, c, mult]), [1, 0, 2]);
  }
  return tf.reshape(w, [1, -1, w.shape[w.rank - 1]]);
}

function ungroup(layer: LinearParams, a: tf.Tensor3D): tf.Tensor {
  if (layer.kind === 'depthwise') {
    const [kh, kw, c, mult] = layer.weight.shape;
    return tf.reshape(tf.transpose(a, [1, 0, 2]), [kh, kw, c, mult]);
  }
  return tf.reshape(a, layer.weight.shape);
}

interface Stats {
  n: tf.Tensor;
  sx: tf.Tensor;
  sy: tf.Tensor;
  sxy: tf.Tensor;
}

function batchStats(rows: Rows, type: PatternType): Stats {
  const mask = type === 'relu' ? tf.cast(tf.greater(rows.y, 0), 'float32') : tf.onesLike(rows.y);
  const ym = tf.mul(rows.y, mask);
  const xt = tf.transpose(rows.x, [0, 2, 1]);
  return {
    n: tf.sum(mask, 1, true),
    sx: tf.matMul(xt, mask as tf.Tensor3D),
    sy: tf.sum(ym, 1, true),
    sxy: tf.matMul(xt, ym as tf.Tensor3D),
  };
}

/**
 * Settings of pattern fitting: examples per pass and the pattern type.
 *
 * @inline
 */
export interface FitOptions {
  batchSize?: number;
  patternType?: PatternType;
}

/** Patterns for every linear op, keyed by op id, in the shape of the op's weight. */
export function computePatterns(graph: Graph, data: tf.Tensor, opts: FitOptions = {}): Map<number, tf.Tensor> {
  const type = opts.patternType ?? 'relu';
  const batchSize = opts.batchSize ?? 256;
  const rows = data.shape[0];
  if (!rows) throw new KilnError('pattern fitting needs at least one training example');
  const expected = graph.inputShape.join('x');
  if (data.shape.slice(1).join('x') !== expected) {
    throw new KilnError(`pattern fitting data has example shape [${data.shape.slice(1)}], the model expects [${graph.inputShape}]`);
  }
  const fitted = graph.ops.filter((op) => op.linear && op.linear.kind !== 'affine');
  const totals = new Map<number, Stats>();
  for (let start = 0; start < rows; start += batchSize) {
    const size = Math.min(batchSize, rows - start);
    tf.tidy(() => {
      const batch = tf.slice(data, start, size);
      const acts = forwardAll(graph, batch);
      for (const op of fitted) {
        const s = batchStats(rowsOf(op.linear!, acts[op.inputs[0]], acts[op.id]), type);
        const prev = totals.get(op.id);
        const next: Stats = prev
          ? { n: tf.add(prev.n, s.n), sx: tf.add(prev.sx, s.sx), sy: tf.add(prev.sy, s.sy), sxy: tf.add(prev.sxy, s.sxy) }
          : s;
        if (prev) tf.dispose(Object.values(prev));
        tf.keep(next.n); tf.keep(next.sx); tf.keep(next.sy); tf.keep(next.sxy);
        totals.set(op.id, next);
      }
    });
  }
  const patterns = new Map<number, tf.Tensor>();
  for (const op of graph.ops) {
    if (!op.linear) continue;
    const layer = op.linear;
    const stats = totals.get(op.id);
    patterns.set(op.id, tf.tidy(() => {
      // A per-channel scaling y = w x + b has the exact pattern 1 / w, whatever the data.
      if (!stats) return safeDivide(tf.onesLike(layer.weight), layer.weight);
      const ex = safeDivide(stats.sx, stats.n);
      const ey = safeDivide(stats.sy, stats.n);
      const cov = tf.sub(safeDivide(stats.sxy, stats.n), tf.mul(ex, ey));
      const norm = tf.sum(tf.mul(groupedWeight(layer), cov), 1, true);
      return ungroup(layer, safeDivide(cov, norm) as tf.Tensor3D);
    }));
    if (stats) tf.dispose(Object.values(stats));
  }
  return patterns;
}
