import { createRng } from '../../core/index.js';

export interface MlpConfig {
  hidden: readonly number[];
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  seed: number;
}

/**
 * A ReLU MLP regressor in plain float64 JS, trained with Adam on mean squared error plus L2
 * weight decay. Inputs are small (one-hot encodings of a few dozen entries) and the network
 * is refit many times per search, where tensor-op overhead would dominate: plain loops are
 * faster here and bit-for-bit reproducible.
 */
export function trainMlp(x: readonly Float32Array[], y: readonly number[], cfg: MlpConfig): (x: Float32Array) => number {
  const rng = createRng(cfg.seed);
  const sizes = [x[0].length, ...cfg.hidden, 1];
  const layers = sizes.slice(1).map((out, l) => {
    const inp = sizes[l];
    const bound = Math.sqrt(6 / inp); // He-uniform for ReLU
    const w = Float64Array.from({ length: out * inp }, () => (rng.next() * 2 - 1) * bound);
    return { inp, out, w, b: new Float64Array(out), gw: new Float64Array(out * inp), gb: new Float64Array(out),
      mw: new Float64Array(out * inp), vw: new Float64Array(out * inp), mb: new Float64Array(out), vb: new Float64Array(out) };
  });
  const forward = (input: ArrayLike<number>) => {
    const acts: Float64Array[] = [Float64Array.from(input)];
    layers.forEach((L, l) => {
      const a = acts[l];
      const z = new Float64Array(L.out);
      const { w, b, inp, out } = L;
      // One-hot inputs and ReLU outputs are mostly zeros: skip them.
      const nz: number[] = [];
      for (let i = 0; i < inp; i++) if (a[i] !== 0) nz.push(i);
      for (let o = 0; o < out; o++) {
        let s = b[o];
        const row = o * inp;
        for (const i of nz) s += w[row + i] * a[i];
        z[o] = l < layers.length - 1 ? Math.max(0, s) : s;
      }
      acts.push(z);
    });
    return acts;
  };
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  let t = 0;
  const order = x.map((_, i) => i);
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < order.length; start += cfg.batch) {
      const idx = order.slice(start, start + cfg.batch);
      for (const L of layers) { L.gw.fill(0); L.gb.fill(0); }
      for (const i of idx) {
        const acts = forward(x[i]);
        let delta = new Float64Array([(2 * (acts[layers.length][0] - y[i])) / idx.length]);
        for (let l = layers.length - 1; l >= 0; l--) {
          const L = layers[l];
          const a = acts[l];
          const { w, gw, gb, inp, out } = L;
          const back = new Float64Array(inp);
          for (let o = 0; o < out; o++) {
            const d = delta[o];
            if (d === 0) continue;
            gb[o] += d;
            const row = o * inp;
            for (let k = 0; k < inp; k++) {
              if (a[k] !== 0) gw[row + k] += d * a[k];
              if (l > 0) back[k] += d * w[row + k];
            }
          }
          if (l > 0) for (let k = 0; k < L.inp; k++) if (a[k] <= 0) back[k] = 0;
          delta = back;
        }
      }
      t++;
      const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
      for (const L of layers) {
        for (let k = 0; k < L.w.length; k++) {
          const g = L.gw[k] + cfg.weightDecay * L.w[k];
          L.mw[k] = b1 * L.mw[k] + (1 - b1) * g;
          L.vw[k] = b2 * L.vw[k] + (1 - b2) * g * g;
          L.w[k] -= (cfg.lr * L.mw[k] / c1) / (Math.sqrt(L.vw[k] / c2) + eps);
        }
        for (let k = 0; k < L.b.length; k++) {
          const g = L.gb[k];
          L.mb[k] = b1 * L.mb[k] + (1 - b1) * g;
          L.vb[k] = b2 * L.vb[k] + (1 - b2) * g * g;
          L.b[k] -= (cfg.lr * L.mb[k] / c1) / (Math.sqrt(L.vb[k] / c2) + eps);
        }
      }
    }
  }
  return (input) => forward(input)[layers.length][0];
}
