import * as tf from '@tensorflow/tfjs';
import { KilnError } from '../core/errors.js';
import { KernelScope, type KernelArgs } from './kernel-scope.js';

/**
 * The three convolution gradient kernels the wasm backend lacks, composed from kernels it has.
 * Without them any training through conv2d / depthwiseConv2d on wasm fails with
 * "Kernel '...' not registered". NHWC, dilation 1, any stride, 'same' / 'valid' / explicit pads.
 */

type Shape4 = [number, number, number, number];

function convInfo(
  inShape: Shape4, filterShape: Shape4, strides: [number, number] | number,
  pad: tf.Conv2DBackpropFilterAttrs['pad'], dilations: [number, number] | number | undefined,
  roundingMode: 'floor' | 'round' | 'ceil' | undefined, depthwise: boolean, kernelName: string,
): tf.backend_util.Conv2DInfo {
  const d = dilations ?? 1;
  if (!(d === 1 || (Array.isArray(d) && d[0] === 1 && d[1] === 1))) {
    throw new KilnError(`${kernelName} on wasm supports dilation 1 only (got ${String(d)})`);
  }
  return tf.backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad, roundingMode, depthwise, 'channelsLast');
}

/**
 * Pads (or crops) x [N,H,W,C] to exactly the rows and columns the filter windows cover:
 * (out - 1) * stride + filter, starting at the top/left padding.
 */
function windowInput(s: KernelScope, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  const { top, left } = info.padInfo;
  const rows = (info.outHeight - 1) * info.strideHeight + info.filterHeight;
  const cols = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  const padded = s.pad(x, [[0, 0], [top, Math.max(0, rows - top - h)], [left, Math.max(0, cols - left - w)], [0, 0]]);
  return s.slice(padded, [0, 0, 0, 0], [n, rows, cols, c]);
}

/**
 * Filter gradients are themselves convolutions of the padded input with dy as the filter
 * (dilated by the stride), contracting over the batch: dW[i,j,ci,co] =
 * sum over n, oh, ow of xPad[n, oh*s+i, ow*s+j, ci] * dy[n, oh, ow, co]. Running them as one
 * XNNPACK convolution is 3-20x faster than per-tap slices and matmuls on wasm.
 */
function conv2DBackpropFilter(args: KernelArgs<'x' | 'dy'>): tf.TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === 'NCHW') throw new KilnError('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = convInfo(x.shape as Shape4, attrs.filterShape, attrs.strides, attrs.pad, 1, attrs.dimRoundingMode, false, 'Conv2DBackpropFilter');
  const s = new KernelScope(args.backend, 'wasm');
  // Batch moves to the channel axis of both: input [Cin, Hp, Wp, N], filter [Ho, Wo, N, Cout].
  const input = s.transpose(windowInput(s, x, info), [3, 1, 2, 0]);
  const filter = s.transpose(dy, [1, 2, 0, 3]);
  const grad = s.run('Conv2D', { x: input, filter },
    { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [info.strideHeight, info.strideWidth] });
  return s.finish(s.transpose(grad, [1, 2, 0, 3]));
}

/** The depthwise analogue: batch and channels share the channel axis, summed over batch after. */
function depthwiseBackpropFilter(args: KernelArgs<'x' | 'dy'>): tf.TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const filterShape = attrs.filterShape;
  const info = convInfo(x.shape as Shape4, filterShape, attrs.strides, attrs.pad, attrs.dilations, attrs.dimRoundingMode, true,
    'DepthwiseConv2dNativeBackpropFilter');
  const s = new KernelScope(args.backend, 'wasm');
  const [kh, kw, c, mult] = filterShape;
  const n = x.shape[0];
  const window = windowInput(s, x, info);
  // input [1, Hp, Wp, N*C] (channel n*C + c); filter [Ho, Wo, N*C, mult].
  const input = s.reshape(s.transpose(window, [1, 2, 0, 3]), [1, window.shape[1], window.shape[2], n * c]);
  const filter = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [info.outHeight, info.outWidth, n * c, mult]);
  const perSample = s.run('DepthwiseConv2dNative', { x: input, filter },
    { strides: [1, 1], pad: 'valid', dilations: [info.strideHeight, info.strideWidth] });
  const grad = s.run('Sum', { x: s.reshape(perSample, [kh, kw, n, c * mult]) }, { axis: [2], keepDims: false });
  return s.finish(s.reshape(grad, filterShape));
}

/**
 * Input gradients are stride-1 'valid' convolutions, with the spatially flipped filter, of dy
 * zero-dilated by the stride (each value followed by stride - 1 zeros) and padded by
 * filter - 1 - pad on each side (cropped where an explicit pad is wider than the filter).
 * This returns that dilated, padded dy: [N, H + kh - 1, W + kw - 1, channels of dy].
 */
function dilatedPaddedDy(s: KernelScope, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, inputShape: Shape4): tf.TensorInfo {
  const [n, h, w] = inputShape;
  const [, ho, wo, cdy] = dy.shape;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const dilated = sh === 1 && sw === 1 ? dy : s.reshape(
    s.pad(s.reshape(dy, [n, ho, 1, wo, 1, cdy]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]),
    [n, ho * sh, wo * sw, cdy]);
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = h + kh - 1 - top - ho * sh;
  const right = w + kw - 1 - left - wo * sw;
  const padded = s.pad(dilated, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
  return s.slice(padded, [0, Math.max(0, -top), Math.max(0, -left), 0], [n, h + kh - 1, w + kw - 1, cdy]);
}

/** dx for depthwise conv; the channel multipliers of each input channel are summed after. */
function depthwiseBackpropInput(args: KernelArgs<'dy' | 'filter'>): tf.TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const inputShape = attrs.inputShape;
  const info = convInfo(inputShape, filter.shape as Shape4, attrs.strides, attrs.pad, attrs.dilations, attrs.dimRoundingMode, true,
    'DepthwiseConv2dNativeBackpropInput');
  const s = new KernelScope(args.backend, 'wasm');
  const [n, h, w, c] = inputShape;
  const [kh, kw, , mult] = filter.shape;
  const flipped = s.reshape(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [kh, kw, c * mult, 1]);
  const dx = s.run('DepthwiseConv2dNative', { x: dilatedPaddedDy(s, dy, info, inputShape), filter: flipped },
    { strides: [1, 1], pad: 'valid', dilations: [1, 1] });
  return s.finish(mult === 1 ? dx : s.run('Sum', { x: s.reshape(dx, [n, h, w, c, mult]) }, { axis: [4], keepDims: false }));
}

/**
 * dx for conv2d as one XNNPACK convolution with the flipped filter, its in/out channels
 * swapped. wasm ships Conv2DBackpropInput, but as a direct loop that is several times slower.
 */
function conv2DBackpropInput(args: KernelArgs<'dy' | 'filter'>): tf.TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (attrs.dataFormat === 'NCHW') throw new KilnError('Conv2DBackpropInput on wasm supports NHWC only');
  const inputShape = attrs.inputShape;
  const info = convInfo(inputShape, filter.shape as Shape4, attrs.strides, attrs.pad, 1, attrs.dimRoundingMode, false, 'Conv2DBackpropInput');
  const s = new KernelScope(args.backend, 'wasm');
  const flipped = s.transpose(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
  return s.finish(s.run('Conv2D', { x: dilatedPaddedDy(s, dy, info, inputShape), filter: flipped },
    { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] }));
}

/** The three gradient kernels wasm lacks. */
export const missingConvGradKernels: tf.KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: 'wasm', kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: 'wasm', kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc },
];

/** A faster replacement for the Conv2DBackpropInput kernel wasm ships. */
export const fastConv2DBackpropInput: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
