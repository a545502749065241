import * as tf from '@tensorflow/tfjs';
import type { NativeBackend } from '../backend.js';
import { activationCode, optionalSlot } from './linalg.js';
import { expectShape, input, nativeKernel } from './util.js';

type Conv2DInfo = tf.backend_util.Conv2DInfo;
type Conv3DInfo = tf.backend_util.Conv3DInfo;
type Shape4 = [number, number, number, number];
type Shape5 = [number, number, number, number, number];

interface Geometry {
  strides: number[];
  /** [before, after] per spatial dim, flattened */
  pads: number[];
  dilations: number[];
  nchw: boolean;
  outShape: number[];
}

/** tfjs's convolution geometry (its SAME padding included) in the form the addon takes. */
function geometry2d(info: Conv2DInfo): Geometry {
  const p = info.padInfo;
  return {
    strides: [info.strideHeight, info.strideWidth],
    pads: [p.top, p.bottom, p.left, p.right],
    dilations: [info.dilationHeight, info.dilationWidth],
    nchw: info.dataFormat === 'channelsFirst',
    outShape: info.outShape,
  };
}

function geometry3d(info: Conv3DInfo): Geometry {
  const p = info.padInfo;
  return {
    strides: [info.strideDepth, info.strideHeight, info.strideWidth],
    pads: [p.front, p.back, p.top, p.bottom, p.left, p.right],
    dilations: [info.dilationDepth, info.dilationHeight, info.dilationWidth],
    nchw: false,
    outShape: info.outShape,
  };
}

type ConvAttrs = tf.Conv2DAttrs & { activation?: tf.fused.Activation; leakyreluAlpha?: number };

function conv2dInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs, depthwise: boolean): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad,
    attrs.dimRoundingMode, depthwise, tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
}

/** Conv2D, DepthwiseConv2dNative and their fused forms (bias, activation) in one addon call. */
function convForward(name: string, depthwise: boolean, fused: boolean): tf.KernelConfig {
  return nativeKernel<ConvAttrs>(name, ({ inputs, attrs, b }) => {
    const x = input(inputs, 'x');
    const filter = input(inputs, 'filter');
    const g = geometry2d(conv2dInfo(x.shape, filter.shape, attrs, depthwise));
    const out = b.output(b.addon.conv(b.slot(x), b.slot(filter), g.strides, g.pads, g.dilations, depthwise, g.nchw,
      fused ? optionalSlot(b, inputs.bias) : null, fused ? activationCode(attrs.activation) : 0,
      fused ? optionalSlot(b, inputs.preluActivationWeights) : null, attrs.leakyreluAlpha ?? 0.2));
    return expectShape(b, out, g.outShape, name);
  });
}

function convBackpropInput(b: NativeBackend, name: string, dy: tf.TensorInfo, filter: tf.TensorInfo, inputShape: number[], g: Geometry, depthwise: boolean) {
  const out = b.output(b.addon.convBackpropInput(b.slot(dy), b.slot(filter), inputShape, g.strides, g.pads, g.dilations, depthwise, g.nchw));
  return expectShape(b, out, inputShape, name);
}

function convBackpropFilter(b: NativeBackend, name: string, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: number[], g: Geometry, depthwise: boolean) {
  const out = b.output(b.addon.convBackpropFilter(b.slot(x), b.slot(dy), filterShape, g.strides, g.pads, g.dilations, depthwise, g.nchw));
  return expectShape(b, out, filterShape, name);
}

type PoolAttrs = tf.AvgPoolAttrs;
type Pool3DAttrs = tf.AvgPool3DAttrs;

function pool2dInfo(xShape: number[], attrs: PoolAttrs): Conv2DInfo {
  return tf.backend_util.computePool2DInfo(xShape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

function pool3dInfo(xShape: number[], attrs: Pool3DAttrs): Conv3DInfo {
  return tf.backend_util.computePool3DInfo(xShape as Shape5, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

function poolKernels(dims: 2 | 3, isMax: boolean): tf.KernelConfig[] {
  const name = `${isMax ? 'MaxPool' : 'AvgPool'}${dims === 3 ? '3D' : ''}`;
  const plan = (xShape: number[], attrs: PoolAttrs & Pool3DAttrs) => {
    if (dims === 2) {
      const info = pool2dInfo(xShape, attrs);
      return { g: geometry2d(info), kernel: [info.filterHeight, info.filterWidth] };
    }
    const info = pool3dInfo(xShape, attrs);
    return { g: geometry3d(info), kernel: [info.filterDepth, info.filterHeight, info.filterWidth] };
  };
  return [
    nativeKernel<PoolAttrs & Pool3DAttrs>(name, ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const { g, kernel } = plan(x.shape, attrs);
      return expectShape(b, b.output(b.addon.pool(b.slot(x), isMax, kernel, g.strides, g.pads)), g.outShape, name);
    }),
    nativeKernel<PoolAttrs & Pool3DAttrs>(`${name}Grad`, ({ inputs, attrs, b }) => {
      const x = input(inputs, 'input');
      const { g, kernel } = plan(x.shape, attrs);
      const out = b.output(b.addon.poolGrad(b.slot(input(inputs, 'dy')), b.slot(x), isMax, kernel, g.strides, g.pads));
      return expectShape(b, out, x.shape, `${name}Grad`);
    }),
  ];
}

export function convKernels(): tf.KernelConfig[] {
  return [
    convForward('Conv2D', false, false),
    convForward('FusedConv2D', false, true),
    convForward('DepthwiseConv2dNative', true, false),
    convForward('FusedDepthwiseConv2D', true, true),
    nativeKernel<tf.Conv2DBackpropInputAttrs>('Conv2DBackpropInput', ({ inputs, attrs, b }) => {
      const filter = input(inputs, 'filter');
      const g = geometry2d(conv2dInfo(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 }, false));
      return convBackpropInput(b, 'Conv2DBackpropInput', input(inputs, 'dy'), filter, attrs.inputShape, g, false);
    }),
    nativeKernel<tf.Conv2DBackpropFilterAttrs>('Conv2DBackpropFilter', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const g = geometry2d(conv2dInfo(x.shape, attrs.filterShape, { ...attrs, dilations: 1 }, false));
      return convBackpropFilter(b, 'Conv2DBackpropFilter', x, input(inputs, 'dy'), attrs.filterShape, g, false);
    }),
    nativeKernel<tf.DepthwiseConv2dNativeBackpropInputAttrs>('DepthwiseConv2dNativeBackpropInput', ({ inputs, attrs, b }) => {
      const filter = input(inputs, 'filter');
      const g = geometry2d(conv2dInfo(attrs.inputShape, filter.shape, { ...attrs, dataFormat: 'NHWC' }, true));
      return convBackpropInput(b, 'DepthwiseConv2dNativeBackpropInput', input(inputs, 'dy'), filter, attrs.inputShape, g, true);
    }),
    nativeKernel<tf.DepthwiseConv2dNativeBackpropFilterAttrs>('DepthwiseConv2dNativeBackpropFilter', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const g = geometry2d(conv2dInfo(x.shape, attrs.filterShape, { ...attrs, dataFormat: 'NHWC' }, true));
      return convBackpropFilter(b, 'DepthwiseConv2dNativeBackpropFilter', x, input(inputs, 'dy'), attrs.filterShape, g, true);
    }),
    nativeKernel<tf.Conv3DAttrs>('Conv3D', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const filter = input(inputs, 'filter');
      requireNdhwc(attrs.dataFormat);
      const g = geometry3d(tf.backend_util.computeConv3DInfo(x.shape as Shape5, filter.shape as Shape5, attrs.strides, attrs.dilations, attrs.pad));
      const out = b.output(b.addon.conv(b.slot(x), b.slot(filter), g.strides, g.pads, g.dilations, false, false, null, 0, null, 0));
      return expectShape(b, out, g.outShape, 'Conv3D');
    }),
    nativeKernel<tf.Conv3DBackpropInputV2Attrs>('Conv3DBackpropInputV2', ({ inputs, attrs, b }) => {
      const filter = input(inputs, 'filter');
      const g = geometry3d(tf.backend_util.computeConv3DInfo(attrs.inputShape, filter.shape as Shape5, attrs.strides, 1, attrs.pad));
      return convBackpropInput(b, 'Conv3DBackpropInputV2', input(inputs, 'dy'), filter, attrs.inputShape, g, false);
    }),
    nativeKernel<tf.Conv3DBackpropFilterV2Attrs>('Conv3DBackpropFilterV2', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const g = geometry3d(tf.backend_util.computeConv3DInfo(x.shape as Shape5, attrs.filterShape, attrs.strides, 1, attrs.pad));
      return convBackpropFilter(b, 'Conv3DBackpropFilterV2', x, input(inputs, 'dy'), attrs.filterShape, g, false);
    }),
    ...poolKernels(2, true),
    ...poolKernels(2, false),
    ...poolKernels(3, true),
    ...poolKernels(3, false),
    nativeKernel<tf.FusedBatchNormAttrs>('FusedBatchNorm', ({ inputs, attrs, b }) => {
      const mean = input(inputs, 'mean');
      // tf.batchNorm's contract (and tfjs's cpu kernel): the statistics and parameters share one rank.
      for (const name of ['variance', 'offset', 'scale']) {
        const t = inputs[name];
        if (t != null && t.shape.length !== mean.shape.length) throw new Error(`FusedBatchNorm: ${name} must have the rank of mean (${mean.shape.length})`);
      }
      return b.output(b.addon.batchNorm(b.slot(input(inputs, 'x')), b.slot(mean), b.slot(input(inputs, 'variance')),
        optionalSlot(b, inputs.offset), optionalSlot(b, inputs.scale), attrs.varianceEpsilon));
    }),
  ];
}

function requireNdhwc(dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NDHWC') throw new Error(`native Conv3D supports NDHWC only, got ${dataFormat}`);
}
