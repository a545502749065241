import { nextSeed, tf } from '../../backend/index.js';
import { batchNormWithBatchStatistics } from '../../backend/fused.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import { convPlan, convPlanCosts, convPlanFeatures, type Backbone, type BlockPlan, type ConvPlan } from './conv-space.js';
import { uniquePrefix, type ForwardOptions, type Supernet } from './supernet.js';

/**
 * The MobileNet-like supernet behind the TuNAS and BigNAS spaces. One variable set at the widest
 * layout; a child takes the leading channels of every conv (channel choices share the widest
 * kernel). Depthwise kernels: `separate` keeps one weight set per kernel size (TuNAS: each op
 * choice has its own weights), `nested` keeps one 7x7 kernel per block and smaller kernels are its
 * centre (BigNAS). BN uses batch statistics in the supernet; a standalone child gets its own BN
 * statistics by recalibration. With `zeroInitResidualGamma` (BigNAS) each residual block's last
 * BN starts with gamma = 0, so every block starts as the identity.
 */
export interface ConvSupernetOptions {
  space: SearchSpace;
  backbone: Backbone;
  /** [side, side, channels] of the full-resolution images. */
  inputShape: number[];
  classes: number;
  kernels: 'separate' | 'nested';
  maxExpansion: number;
  zeroInitResidualGamma?: boolean;
}

const EPS = 1e-3;

export interface ConvSupernet extends Supernet {
  plan(a: Architecture): ConvPlan;
  /** Weights that only the largest child regularizes (BigNAS): every conv and dense kernel. */
  readonly kernelsForDecay: tf.Variable[];
  /** Per-op features of a child for a linear latency model (convPlanFeatures). */
  latencyFeatures(a: Architecture): number[];
}

export function convSupernet(o: ConvSupernetOptions): ConvSupernet {
  const { backbone: b, classes } = o;
  const [side, , inC] = o.inputShape;
  const prefix = uniquePrefix(`${o.space.name}_super`);
  const vars = new Map<string, tf.Variable>();
  const kernelsForDecay: tf.Variable[] = [];
  const make = (name: string, shape: number[], init: 'he' | 'ones' | 'zeros', decay = false) => {
    const value = init === 'he' ? tf.initializers.heNormal({ seed: nextSeed() }).apply(shape) : init === 'ones' ? tf.ones(shape) : tf.zeros(shape);
    const v = tf.variable(value as tf.Tensor, true, prefix + name);
    vars.set(name, v);
    if (decay) kernelsForDecay.push(v);
    return v;
  };
  const bnVars = (name: string, c: number, zeroGamma = false) => {
    make(`${name}/gamma`, [c], zeroGamma ? 'zeros' : 'ones');
    make(`${name}/beta`, [c], 'zeros');
  };

  make('stem/kernel', [3, 3, inC, b.stem], 'he', true);
  bnVars('stem/bn', b.stem);
  let maxIn = b.stem;
  b.channels.forEach((maxC, s) => {
    for (let i = 0; i < b.depth; i++) {
      const slot = s * b.depth + i;
      const hidden = maxIn * o.maxExpansion;
      make(`b${slot}/expand`, [1, 1, maxIn, hidden], 'he', true);
      bnVars(`b${slot}/expand_bn`, hidden);
      const ks = o.kernels === 'nested' ? [Math.max(...b.kernels)] : b.kernels;
      for (const k of ks) make(`b${slot}/dw${k}`, [k, k, hidden, 1], 'he', true);
      bnVars(`b${slot}/dw_bn`, hidden);
      make(`b${slot}/project`, [1, 1, hidden, maxC], 'he', true);
      // A block is residual when its input and output widths match, i.e. every block after a stage's first.
      bnVars(`b${slot}/project_bn`, maxC, o.zeroInitResidualGamma && (i > 0 || (b.strides[s] === 1 && maxIn === maxC)));
      maxIn = maxC;
    }
  });
  make('head/kernel', [maxIn, classes], 'he', true);
  make('head/bias', [classes], 'zeros');

  const v = (name: string) => vars.get(name)!;
  const channels = (t: tf.Tensor, c: number) => tf.slice(t, [0], [c]);
  const bn = (h: tf.Tensor4D, name: string, c: number) =>
    batchNormWithBatchStatistics(h, channels(v(`${name}/beta`), c), channels(v(`${name}/gamma`), c), EPS) as tf.Tensor4D;
  const conv1x1 = (h: tf.Tensor4D, name: string, cin: number, cout: number) =>
    tf.conv2d(h, tf.slice(v(name), [0, 0, 0, 0], [1, 1, cin, cout]) as tf.Tensor4D, 1, 'same');
  const dwKernel = (blk: BlockPlan, k: number, hidden: number): tf.Tensor4D => {
    if (o.kernels === 'separate') return tf.slice(v(`b${blk.slot}/dw${k}`), [0, 0, 0, 0], [k, k, hidden, 1]) as tf.Tensor4D;
    const max = Math.max(...b.kernels);
    const off = (max - k) / 2;
    return tf.slice(v(`b${blk.slot}/dw${max}`), [off, off, 0, 0], [k, k, hidden, 1]) as tf.Tensor4D;
  };
  const plan = (a: Architecture) => convPlan(o.space, a, b, side);

  const logits = (x: tf.Tensor, a: Architecture, f: ForwardOptions = {}) => {
    const p = plan(a);
    let h = x as tf.Tensor4D;
    if (p.resolution !== side) h = tf.image.resizeBilinear(h, [p.resolution, p.resolution]);
    h = tf.relu6(bn(tf.conv2d(h, v('stem/kernel') as tf.Tensor4D, 2, 'same'), 'stem/bn', b.stem)) as tf.Tensor4D;
    const keep = f.warmupKeep ?? 0;
    const rand = f.random ?? Math.random;
    for (const blk of p.blocks) {
      const input = h;
      // TuNAS filter warm-up: with probability `keep` the block runs all of its expansion filters.
      const wide = keep > 0 && rand() < keep;
      const hidden = wide ? blk.inC * o.maxExpansion : blk.hidden;
      if (blk.expand || wide) h = tf.relu6(bn(conv1x1(h, `b${blk.slot}/expand`, blk.inC, hidden), `b${blk.slot}/expand_bn`, hidden)) as tf.Tensor4D;
      // TuNAS op warm-up: every other kernel size joins (summed) with probability `keep`.
      const ks = [blk.kernel, ...(keep > 0 ? b.kernels.filter((k) => k !== blk.kernel && rand() < keep) : [])];
      let d = tf.depthwiseConv2d(h, dwKernel(blk, ks[0], hidden), blk.stride, 'same');
      for (const k of ks.slice(1)) d = tf.add(d, tf.depthwiseConv2d(h, dwKernel(blk, k, hidden), blk.stride, 'same'));
      h = tf.relu6(bn(d, `b${blk.slot}/dw_bn`, hidden)) as tf.Tensor4D;
      h = bn(conv1x1(h, `b${blk.slot}/project`, hidden, blk.outC), `b${blk.slot}/project_bn`, blk.outC);
      if (blk.residual) h = tf.add(h, input) as tf.Tensor4D;
    }
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, tf.slice(v('head/kernel'), [0, 0], [p.lastC, classes]) as tf.Tensor2D), v('head/bias'));
  };

  /** The child as layers, with its weights sliced out of the supernet (BN moving stats 0 / 1 until recalibrated). */
  const child = (a: Architecture): tf.LayersModel => {
    const p = plan(a);
    // Each layer gets its slice of the supernet once the graph is built (layer.setWeights, in
    // the layer's own weight order; the model-wide order lists all trainable weights first).
    const assign: { layer: tf.layers.Layer; weights: tf.Tensor[] }[] = [];
    const put = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[], weights: tf.Tensor[]) => {
      assign.push({ layer, weights });
      return layer.apply(x) as tf.SymbolicTensor;
    };
    const input = tf.input({ shape: [p.resolution, p.resolution, inC] });
    const bnLayer = (x: tf.SymbolicTensor, name: string, c: number) =>
      put(tf.layers.batchNormalization({ epsilon: EPS }), x, [channels(v(`${name}/gamma`), c), channels(v(`${name}/beta`), c), tf.zeros([c]), tf.ones([c])]);
    const relu6 = (x: tf.SymbolicTensor) => tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
    const conv = (x: tf.SymbolicTensor, kernel: tf.Tensor, strides: number) =>
      put(tf.layers.conv2d({ filters: kernel.shape[3]!, kernelSize: [kernel.shape[0]!, kernel.shape[1]!], strides, padding: 'same', useBias: false }), x, [kernel]);
    let h = relu6(bnLayer(conv(input, v('stem/kernel').clone(), 2), 'stem/bn', b.stem));
    for (const blk of p.blocks) {
      const skip = h;
      if (blk.expand) {
        h = relu6(bnLayer(conv(h, tf.slice(v(`b${blk.slot}/expand`), [0, 0, 0, 0], [1, 1, blk.inC, blk.hidden]), 1), `b${blk.slot}/expand_bn`, blk.hidden));
      }
      h = put(tf.layers.depthwiseConv2d({ kernelSize: blk.kernel, strides: blk.stride, padding: 'same', useBias: false }), h, [dwKernel(blk, blk.kernel, blk.hidden)]);
      h = relu6(bnLayer(h, `b${blk.slot}/dw_bn`, blk.hidden));
      h = bnLayer(conv(h, tf.slice(v(`b${blk.slot}/project`), [0, 0, 0, 0], [1, 1, blk.hidden, blk.outC]), 1), `b${blk.slot}/project_bn`, blk.outC);
      if (blk.residual) h = tf.layers.add().apply([skip, h]) as tf.SymbolicTensor;
    }
    h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
    const logitsT = put(tf.layers.dense({ units: classes, name: 'logits' }), h, [tf.slice(v('head/kernel'), [0, 0], [p.lastC, classes]), v('head/bias').clone()]);
    const probs = tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(logitsT) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: probs, name: `${o.space.name}_child` });
    for (const { layer, weights } of assign) {
      layer.setWeights(weights);
      tf.dispose(weights);
    }
    return model;
  };

  const variables = [...vars.values()];
  return {
    space: o.space,
    prefix,
    variables,
    kernelsForDecay,
    plan,
    logits,
    child,
    costs: (a) => convPlanCosts(plan(a), b, inC, classes),
    latencyFeatures: (a) => convPlanFeatures(plan(a), b, inC),
    dispose: () => tf.dispose(variables),
  };
}
