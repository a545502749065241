import { tf } from '../../backend/index.js';
import { createRng } from '../../core/index.js';
import { trainStepsSync } from '../../train/index.js';
import type { CellGraph } from '../space/index.js';

export interface GcnConfig {
  /** Width of the three graph-convolution layers. */
  hidden: number;
  /** Width of the fully connected layer after pooling (128 in the paper). */
  fc: number;
  dropout: number;
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  seed: number;
}

/** The paper's GCN width for N training cells: 48 at N = 43 growing to 144 at N = 172, linear between. */
export function gcnWidth(n: number): number {
  return Math.round(Math.min(144, Math.max(48, 48 + ((n - 43) * (144 - 48)) / (172 - 43))));
}

/** Row-normalized (A + I): each node averages itself and its neighbours. */
function propagation(g: CellGraph, transpose: boolean): Float32Array {
  const n = g.nodes;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = 1;
    for (let j = 0; j < n; j++) if (transpose ? g.adjacency[j * n + i] : g.adjacency[i * n + j]) out[i * n + j] = 1;
    let s = 0;
    for (let j = 0; j < n; j++) s += out[i * n + j];
    for (let j = 0; j < n; j++) out[i * n + j] /= s;
  }
  return out;
}

/** Batched graph tensors: forward and backward propagation, node features, node mask (padded nodes are 0). */
function batchOf(graphs: readonly CellGraph[]) {
  const n = graphs[0].nodes;
  const f = graphs[0].featureNames.length;
  const fw = new Float32Array(graphs.length * n * n);
  const bw = new Float32Array(graphs.length * n * n);
  const x = new Float32Array(graphs.length * n * f);
  const mask = new Float32Array(graphs.length * n);
  graphs.forEach((g, b) => {
    fw.set(propagation(g, false), b * n * n);
    bw.set(propagation(g, true), b * n * n);
    x.set(g.features, b * n * f);
    for (let i = 0; i < n; i++) mask[b * n + i] = g.features.subarray(i * f, (i + 1) * f).some((v) => v !== 0) ? 1 : 0;
  });
  const B = graphs.length;
  return {
    fw: tf.tensor3d(fw, [B, n, n]), bw: tf.tensor3d(bw, [B, n, n]), x: tf.tensor3d(x, [B, n, f]), mask: tf.tensor3d(mask, [B, n, 1]),
    dispose() { tf.dispose([this.fw, this.bw, this.x, this.mask]); },
  };
}

/**
 * Neural Predictor's GCN (Wen et al. 2019): three bidirectional graph convolutions (each the
 * average of a pass along the edges and one against them, ReLU), global average pooling over
 * the cell's nodes, FC 128 + ReLU, dropout, a linear output. Adam with L2 weight decay on
 * standardized targets, in tfjs (batched matmuls keep 5,000 steps of width 144 affordable).
 */
export function trainGcn(graphs: readonly CellGraph[], y: readonly number[], cfg: GcnConfig): { predict: (g: readonly CellGraph[]) => number[]; dispose: () => void } {
  const rng = createRng(cfg.seed);
  const f = graphs[0].featureNames.length;
  const glorot = (i: number, o: number) => tf.variable(tf.randomUniform([i, o], -Math.sqrt(6 / (i + o)), Math.sqrt(6 / (i + o)), 'float32', rng.int(2 ** 31)));
  const dims = [f, cfg.hidden, cfg.hidden, cfg.hidden];
  const convs = dims.slice(1).map((o, l) => ({ wf: glorot(dims[l], o), wb: glorot(dims[l], o), b: tf.variable(tf.zeros([o])) }));
  const fc = { w: glorot(cfg.hidden, cfg.fc), b: tf.variable(tf.zeros([cfg.fc])) };
  const out = { w: glorot(cfg.fc, 1), b: tf.variable(tf.zeros([1])) };
  const weights = [...convs.flatMap((c) => [c.wf, c.wb]), fc.w, out.w];

  const forward = (batch: ReturnType<typeof batchOf>, train: boolean, dropSeed = 0): tf.Tensor1D => {
    const [B, n] = batch.x.shape;
    let h: tf.Tensor = batch.x;
    for (const c of convs) {
      const d = h.shape[2]!;
      const along = tf.matMul(tf.matMul(batch.fw, h).reshape([B * n, d]), c.wf);
      const against = tf.matMul(tf.matMul(batch.bw, h).reshape([B * n, d]), c.wb);
      h = tf.relu(along.add(against).mul(0.5).add(c.b)).reshape([B, n, -1]).mul(batch.mask);
    }
    const pooled = h.sum(1).div(batch.mask.sum(1));
    let z = tf.relu(tf.matMul(pooled, fc.w).add(fc.b));
    if (train && cfg.dropout > 0) z = tf.dropout(z, cfg.dropout, undefined, dropSeed);
    return tf.matMul(z, out.w).add(out.b).reshape([B]);
  };

  const opt = tf.train.adam(cfg.lr);
  const order = graphs.map((_, i) => i);
  const yt = Float32Array.from(y);
  const perEpoch = Math.ceil(order.length / cfg.batch);
  try {
    trainStepsSync({
      optimizer: opt, to: cfg.epochs * perEpoch,
      batch: (step) => {
        const start = (step % perEpoch) * cfg.batch;
        if (start === 0) rng.shuffle(order);
        const idx = order.slice(start, start + cfg.batch);
        return { graphs: batchOf(idx.map((i) => graphs[i])), target: tf.tensor1d(idx.map((i) => yt[i])), seed: rng.int(2 ** 31) };
      },
      loss: ({ graphs: batch, target, seed }) => {
        const mse = tf.losses.meanSquaredError(target, forward(batch, true, seed)) as tf.Scalar;
        return mse.add(tf.addN(weights.map((w) => tf.sum(tf.square(w)))).mul(cfg.weightDecay / 2));
      },
      release: (b) => {
        b.target.dispose();
        b.graphs.dispose();
      },
    });
  } finally {
    opt.dispose();
  }
  const predict = (gs: readonly CellGraph[]) => {
    const preds: number[] = [];
    for (let start = 0; start < gs.length; start += 1024) {
      const batch = batchOf(gs.slice(start, start + 1024));
      const p = tf.tidy(() => forward(batch, false));
      preds.push(...p.dataSync());
      p.dispose();
      batch.dispose();
    }
    return preds;
  };
  const variables = [...convs.flatMap((c) => [c.wf, c.wb, c.b]), fc.w, fc.b, out.w, out.b];
  return { predict, dispose: () => tf.dispose(variables) };
}
