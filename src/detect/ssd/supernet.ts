import { nextSeed, tf } from '../../backend/index.js';
import { batchNormWithBatchStatistics } from '../../backend/fused.js';
import { uniquePrefix, type Architecture, type ForwardOptions } from '../../nas/index.js';
import {
  EXPANSIONS, FILTER_MULTIPLIERS, KERNELS, mobileDetPlan, scaled, stageChannels, TUCKER_RATIOS, type BlockOp, type DetBlockPlan, type MobileDetSpace,
} from '../space/space.js';
import type { Category } from '../types.js';
import { anchorsPerCell, DEFAULT_ANCHORS, generateAnchors, type AnchorOptions } from './anchors.js';

/**
 * The TuNAS-style weight-sharing supernet of SSDLite over a MobileDet space: one variable set at
 * the widest layout (largest filter multiplier, expansion 8, compression 0.75), and every child a
 * slice of it. As in TuNAS, choices of width share weights (a child takes the leading channels of
 * each convolution, so expansion 4 is the first half of expansion 8's filters) while choices of
 * op do not: each op type, and each kernel size within it, has its own kernels. BN always uses
 * batch statistics (children differ in width, so no moving statistics could serve them all).
 * The heads are SSDLite's, reading the leading channels of each feature map.
 *
 * TuNAS's warm-up (`warmupKeep` > 0, decayed from 1 to 0 over the search's first steps) trains
 * every weight before the controller learns: in each block the child runs, with probability
 * `warmupKeep` the op runs at its widest (filter warm-up), and every other op with weights of its
 * own (each op type and kernel size) joins, at its widest and summed, with probability
 * `warmupKeep` (op warm-up). Blocks the child skips stay skipped.
 */
export interface DetSupernetOptions {
  space: MobileDetSpace;
  inputShape: [number, number, number];
  categories: readonly Category[];
  anchors?: AnchorOptions;
}

export interface DetSupernet {
  space: MobileDetSpace;
  /** Prefix of every variable name (unique in the process; checkpoints store names relative to it). */
  readonly prefix: string;
  readonly variables: tf.Variable[];
  /** Anchors of every child (their feature maps have the same sizes), in output-row order. */
  anchors: Float32Array;
  categories: readonly Category[];
  inputShape: [number, number, number];
  /** Raw rows [batch, anchors, 4 + classes] of child `a` on images `x` (with TuNAS warm-up when `warmupKeep` > 0). */
  forward(x: tf.Tensor4D, a: Architecture, opts?: Pick<ForwardOptions, 'warmupKeep' | 'random'>): tf.Tensor3D;
  dispose(): void;
}

const EPS = 1e-3;
const PRIOR = 0.01;
const MAX_EXPANSION = Math.max(...EXPANSIONS);
const MAX_RATIO = Math.max(...TUCKER_RATIOS);

/** An op at its widest: the largest expansion, or the largest Tucker ratios. */
function widest(op: BlockOp): BlockOp {
  return op.type === 'tucker' ? { ...op, inRatio: MAX_RATIO, outRatio: MAX_RATIO } : { ...op, expansion: MAX_EXPANSION };
}

/** The ops of a space variant with weights of their own: one per op type and kernel size, at its widest. */
function weightOps(variant: MobileDetSpace['variant']): BlockOp[] {
  const types = variant === 'full' ? (['ibn', 'fused', 'tucker'] as const) : (['ibn'] as const);
  return types.flatMap((type) => KERNELS.map((kernel) => widest(type === 'tucker' ? { type, kernel, inRatio: 0, outRatio: 0 } : { type, kernel, expansion: 0 })));
}

/** [rows, columns] of the feature maps after the stem and each stage: 'same' convolutions round up. */
function featureSizes(space: MobileDetSpace, [height, width]: readonly number[]): [number, number][] {
  let [h, w] = [Math.ceil(height / 2), Math.ceil(width / 2)];
  const sizes: [number, number][] = [];
  space.layout.stages.forEach((st, i) => {
    [h, w] = [Math.ceil(h / st.stride), Math.ceil(w / st.stride)];
    if (space.layout.featureStages.includes(i)) sizes.push([h, w]);
  });
  return sizes;
}

export function detSupernet(o: DetSupernetOptions): DetSupernet {
  const { space, inputShape } = o;
  const anchorOptions = o.anchors ?? DEFAULT_ANCHORS;
  const perCell = anchorsPerCell(anchorOptions);
  const classes = o.categories.length;
  const prefix = uniquePrefix(`${space.name}_super`);
  const vars = new Map<string, tf.Variable>();
  const make = (name: string, shape: number[], init: 'he' | 'glorot' | 'ones' | 'zeros' | number) => {
    const value = init === 'he' ? tf.initializers.heNormal({ seed: nextSeed() }).apply(shape)
      : init === 'glorot' ? tf.initializers.glorotUniform({ seed: nextSeed() }).apply(shape)
        : init === 'ones' ? tf.ones(shape) : init === 'zeros' ? tf.zeros(shape) : tf.fill(shape, init);
    vars.set(name, tf.variable(value as tf.Tensor, true, prefix + name));
  };
  const bnVars = (name: string, c: number) => {
    make(`${name}/gamma`, [c], 'ones');
    make(`${name}/beta`, [c], 'zeros');
  };
  const maxOut = space.layout.stages.map((st) => stageChannels(st.channels, Math.max(...FILTER_MULTIPLIERS)));
  const stem = space.layout.stem;
  make('stem/kernel', [3, 3, inputShape[2], stem], 'he');
  bnVars('stem/bn', stem);
  const kernels = KERNELS;
  space.layout.stages.forEach((st, s) => {
    for (let i = 0; i < st.depth; i++) {
      const p = `s${s}b${i}`;
      const inMax = i > 0 ? maxOut[s] : s > 0 ? maxOut[s - 1] : stem;
      const out = maxOut[s];
      const hidden = inMax * MAX_EXPANSION;
      make(`${p}/ibn/expand`, [1, 1, inMax, hidden], 'he');
      bnVars(`${p}/ibn/expand_bn`, hidden);
      for (const k of kernels) make(`${p}/ibn/dw${k}`, [k, k, hidden, 1], 'he');
      bnVars(`${p}/ibn/dw_bn`, hidden);
      make(`${p}/ibn/project`, [1, 1, hidden, out], 'he');
      bnVars(`${p}/ibn/project_bn`, out);
      if (space.variant === 'full') {
        for (const k of kernels) make(`${p}/fused/conv${k}`, [k, k, inMax, hidden], 'he');
        bnVars(`${p}/fused/conv_bn`, hidden);
        make(`${p}/fused/project`, [1, 1, hidden, out], 'he');
        bnVars(`${p}/fused/project_bn`, out);
        const ci = scaled(inMax, MAX_RATIO);
        const co = scaled(out, MAX_RATIO);
        make(`${p}/tucker/compress`, [1, 1, inMax, ci], 'he');
        bnVars(`${p}/tucker/compress_bn`, ci);
        for (const k of kernels) make(`${p}/tucker/conv${k}`, [k, k, ci, co], 'he');
        bnVars(`${p}/tucker/conv_bn`, co);
        make(`${p}/tucker/expand`, [1, 1, co, out], 'he');
        bnVars(`${p}/tucker/expand_bn`, out);
      }
    }
  });
  space.layout.featureStages.forEach((s, l) => {
    for (const [head, per, bias] of [['box', 4, 0], ['cls', classes, -Math.log((1 - PRIOR) / PRIOR)]] as const) {
      make(`head${l}/${head}_dw`, [3, 3, maxOut[s], 1], 'he');
      bnVars(`head${l}/${head}_bn`, maxOut[s]);
      make(`head${l}/${head}_pw`, [1, 1, maxOut[s], perCell * per], 'glorot');
      make(`head${l}/${head}_bias`, [perCell * per], bias);
    }
  });

  const v = (name: string) => vars.get(name)!;
  /** The leading [k, k, cin, cout] block of a kernel. */
  const kernel = (name: string, cin: number, cout: number): tf.Tensor4D => {
    const w = v(name);
    const [kh, kw] = w.shape as number[];
    return tf.slice(w, [0, 0, 0, 0], [kh, kw, cin, cout]) as tf.Tensor4D;
  };
  const bn = (h: tf.Tensor4D, name: string, c: number) =>
    batchNormWithBatchStatistics(h, tf.slice(v(`${name}/beta`), [0], [c]), tf.slice(v(`${name}/gamma`), [0], [c]), EPS) as tf.Tensor4D;
  const convBn = (h: tf.Tensor4D, name: string, bnName: string, cout: number, stride: number, linear = false) => {
    const y = bn(tf.conv2d(h, kernel(name, h.shape[3], cout), stride, 'same'), bnName, cout);
    return linear ? y : (tf.relu6(y) as tf.Tensor4D);
  };

  const opOutput = (h: tf.Tensor4D, b: DetBlockPlan, op: BlockOp): tf.Tensor4D => {
    const p = `s${b.stage}b${b.index}/${op.type}`;
    if (op.type === 'ibn') {
      const hidden = scaled(b.inC, op.expansion);
      const y = convBn(h, `${p}/expand`, `${p}/expand_bn`, hidden, 1);
      const d = tf.relu6(bn(tf.depthwiseConv2d(y, kernel(`${p}/dw${op.kernel}`, hidden, 1), b.stride, 'same'), `${p}/dw_bn`, hidden)) as tf.Tensor4D;
      return convBn(d, `${p}/project`, `${p}/project_bn`, b.outC, 1, true);
    }
    if (op.type === 'fused') {
      const y = convBn(h, `${p}/conv${op.kernel}`, `${p}/conv_bn`, scaled(b.inC, op.expansion), b.stride);
      return convBn(y, `${p}/project`, `${p}/project_bn`, b.outC, 1, true);
    }
    let y = convBn(h, `${p}/compress`, `${p}/compress_bn`, scaled(b.inC, op.inRatio), 1);
    y = convBn(y, `${p}/conv${op.kernel}`, `${p}/conv_bn`, scaled(b.outC, op.outRatio), b.stride);
    return convBn(y, `${p}/expand`, `${p}/expand_bn`, b.outC, 1, true);
  };
  const allOps = weightOps(space.variant);

  const block = (h: tf.Tensor4D, b: DetBlockPlan, keep: number, rand: () => number): tf.Tensor4D => {
    const wide = keep > 0 && rand() < keep;
    const joining = keep > 0 ? allOps.filter((op) => !(op.type === b.op.type && op.kernel === b.op.kernel) && rand() < keep) : [];
    let y = opOutput(h, b, wide ? widest(b.op) : b.op);
    for (const op of joining) y = tf.add(y, opOutput(h, b, op));
    return b.residual ? (tf.add(h, y) as tf.Tensor4D) : y;
  };

  const predictor = (f: tf.Tensor4D, l: number, head: 'box' | 'cls', per: number) => {
    const c = f.shape[3];
    const h = tf.relu6(bn(tf.depthwiseConv2d(f, kernel(`head${l}/${head}_dw`, c, 1), 1, 'same'), `head${l}/${head}_bn`, c)) as tf.Tensor4D;
    const y = tf.add(tf.conv2d(h, kernel(`head${l}/${head}_pw`, c, perCell * per), 1, 'same'), v(`head${l}/${head}_bias`));
    return tf.reshape(y, [f.shape[0], f.shape[1] * f.shape[2] * perCell, per]);
  };

  const forward = (x: tf.Tensor4D, a: Architecture, f: Pick<ForwardOptions, 'warmupKeep' | 'random'> = {}): tf.Tensor3D => tf.tidy(() => {
    const plan = mobileDetPlan(space, a);
    const keep = f.warmupKeep ?? 0;
    const rand = f.random ?? Math.random;
    let h = convBn(x, 'stem/kernel', 'stem/bn', stem, 2);
    const features: tf.Tensor4D[] = [];
    plan.blocks.forEach((b, i) => {
      h = block(h, b, keep, rand);
      const lastOfStage = i + 1 === plan.blocks.length || plan.blocks[i + 1].stage !== b.stage;
      if (lastOfStage && space.layout.featureStages.includes(b.stage)) features.push(h);
    });
    const rows = features.map((f, l) => tf.concat([predictor(f, l, 'box', 4), predictor(f, l, 'cls', classes)], 2));
    return tf.concat(rows, 1) as tf.Tensor3D;
  });

  const variables = [...vars.values()];
  return {
    space, prefix, variables, categories: o.categories, inputShape,
    anchors: generateAnchors(featureSizes(space, inputShape), anchorOptions),
    forward,
    dispose: () => tf.dispose(variables),
  };
}
