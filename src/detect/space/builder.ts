import { check } from '../../core/index.js';
import { nextSeed, requireBackend, tf } from '../../backend/index.js';
import type { Architecture } from '../../nas/index.js';
import { mobileDetPlan, scaled, type DetBlockPlan, type MobileDetPlan, type MobileDetSpace } from './space.js';

/**
 * Builds MobileDet backbones as tfjs layers: conv (no bias) + batch norm + ReLU6 everywhere, the
 * projection of every block linear (no activation) as in MobileNetV2, He-normal kernels from
 * Kiln's seed stream so `setSeed` makes a model reproducible.
 */

type T = tf.SymbolicTensor;

export const relu6 = (x: T) => tf.layers.reLU({ maxValue: 6 }).apply(x) as T;
/** Moving-average momentum 0.9, not Keras's 0.99: Kiln's trainings are hundreds of steps, and the inference statistics must settle within them. */
export const bn = (x: T) => tf.layers.batchNormalization({ epsilon: 1e-3, momentum: 0.9 }).apply(x) as T;

function conv(x: T, filters: number, kernel: number, strides: number): T {
  return tf.layers.conv2d({
    filters, kernelSize: kernel, strides, padding: 'same', useBias: false,
    kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
  }).apply(x) as T;
}

export function depthwise(x: T, kernel: number, strides: number): T {
  return tf.layers.depthwiseConv2d({
    kernelSize: kernel, strides, padding: 'same', useBias: false,
    depthwiseInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
  }).apply(x) as T;
}

/** conv + BN (+ ReLU6 unless `linear`). */
const convBn = (x: T, filters: number, kernel: number, strides: number, linear = false) => {
  const h = bn(conv(x, filters, kernel, strides));
  return linear ? h : relu6(h);
};

/** One block of the space on `x`. */
export function applyBlock(x: T, b: DetBlockPlan): T {
  const op = b.op;
  let h: T;
  if (op.type === 'ibn') {
    h = convBn(x, scaled(b.inC, op.expansion), 1, 1);
    h = relu6(bn(depthwise(h, op.kernel, b.stride)));
    h = convBn(h, b.outC, 1, 1, true);
  } else if (op.type === 'fused') {
    h = convBn(x, scaled(b.inC, op.expansion), op.kernel, b.stride);
    h = convBn(h, b.outC, 1, 1, true);
  } else {
    h = convBn(x, scaled(b.inC, op.inRatio), 1, 1);
    h = convBn(h, scaled(b.outC, op.outRatio), op.kernel, b.stride);
    h = convBn(h, b.outC, 1, 1, true);
  }
  return b.residual ? (tf.layers.add().apply([x, h]) as T) : h;
}

/** The stem and blocks of `plan` on `input`; returns the feature maps the heads read. */
export function backboneFeatures(input: T, plan: MobileDetPlan, featureStages: readonly number[]): T[] {
  let h = convBn(input, plan.stem, 3, 2);
  const features: T[] = [];
  for (const [i, b] of plan.blocks.entries()) {
    h = applyBlock(h, b);
    const lastOfStage = i + 1 === plan.blocks.length || plan.blocks[i + 1].stage !== b.stage;
    if (lastOfStage && featureStages.includes(b.stage)) features.push(h);
  }
  return features;
}

/** Architecture `a` of `space` as a layers model from [side, side, channels] images to its feature maps. */
export function buildBackbone(space: MobileDetSpace, a: Architecture, inputShape: number[]): tf.LayersModel {
  requireBackend('buildBackbone()');
  check(inputShape.length === 3 && inputShape.every((d) => Number.isInteger(d) && d > 0), `a backbone needs [height, width, channels] images (got [${inputShape}])`);
  const input = tf.input({ shape: inputShape });
  const features = backboneFeatures(input, mobileDetPlan(space, a), space.layout.featureStages);
  return tf.model({ inputs: input, outputs: features, name: `${space.name}_backbone` });
}
