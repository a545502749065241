import * as tf from '@tensorflow/tfjs';
import { shared } from '@tensorflow/tfjs-backend-cpu';
import type { NativeBackend } from '../backend.js';
import { input, nativeKernel } from './util.js';

const { bincountImpl, bincountReduceImpl, linSpaceImpl, rangeImpl, uniqueImpl } = shared;

/**
 * Kernels computed on the host with tfjs's own implementations: sequence generators whose exact
 * float32 accumulation tfjs defines (Range, LinSpace), and data-dependent control flow over small
 * tensors (non-max suppression, unique, bincount). Inputs are read once, results written once.
 */

const values = (b: NativeBackend, t: tf.TensorInfo) => b.readSync(t.dataId) as Float32Array;
const buffer = (b: NativeBackend, t: tf.TensorInfo) => tf.buffer(t.shape, t.dtype as 'float32', values(b, t));
const int32 = (b: NativeBackend, shape: number[], v: ArrayLike<number>) => b.makeTensorInfo(shape, 'int32', Int32Array.from(v));

export function hostKernels(): tf.KernelConfig[] {
  return [
    nativeKernel<tf.RangeAttrs>('Range', ({ attrs, b }) => {
      const v = rangeImpl(attrs.start, attrs.stop, attrs.step, attrs.dtype);
      return b.makeTensorInfo([v.length], attrs.dtype, v);
    }),
    nativeKernel<tf.LinSpaceAttrs>('LinSpace', ({ attrs, b }) => {
      const v = linSpaceImpl(attrs.start, attrs.stop, attrs.num);
      return b.makeTensorInfo([v.length], 'float32', v);
    }),
    nativeKernel<tf.NonMaxSuppressionV3Attrs>('NonMaxSuppressionV3', ({ inputs, attrs, b }) => {
      const { selectedIndices } = tf.kernel_impls.nonMaxSuppressionV3Impl(values(b, input(inputs, 'boxes')), values(b, input(inputs, 'scores')),
        attrs.maxOutputSize, attrs.iouThreshold, attrs.scoreThreshold);
      return int32(b, [selectedIndices.length], selectedIndices);
    }),
    nativeKernel<tf.NonMaxSuppressionV4Attrs>('NonMaxSuppressionV4', ({ inputs, attrs, b }) => {
      const { selectedIndices, validOutputs } = tf.kernel_impls.nonMaxSuppressionV4Impl(values(b, input(inputs, 'boxes')),
        values(b, input(inputs, 'scores')), attrs.maxOutputSize, attrs.iouThreshold, attrs.scoreThreshold, attrs.padToMaxOutputSize);
      return [int32(b, [selectedIndices.length], selectedIndices), int32(b, [], [validOutputs ?? 0])];
    }),
    nativeKernel<tf.NonMaxSuppressionV5Attrs>('NonMaxSuppressionV5', ({ inputs, attrs, b }) => {
      const { selectedIndices, selectedScores } = tf.kernel_impls.nonMaxSuppressionV5Impl(values(b, input(inputs, 'boxes')),
        values(b, input(inputs, 'scores')), attrs.maxOutputSize, attrs.iouThreshold, attrs.scoreThreshold, attrs.softNmsSigma);
      const scores = Float32Array.from(selectedScores ?? []);
      return [int32(b, [selectedIndices.length], selectedIndices), b.makeTensorInfo([scores.length], 'float32', scores)];
    }),
    nativeKernel<tf.UniqueAttrs>('Unique', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const { outputValues, outputShape, indices } = uniqueImpl(values(b, x), attrs.axis, x.shape, x.dtype);
      return [b.makeTensorInfo(outputShape, x.dtype, outputValues as Float32Array), int32(b, [indices.length], indices as Int32Array)];
    }),
    nativeKernel<tf.BincountAttrs>('Bincount', ({ inputs, attrs, b }) => {
      const weights = input(inputs, 'weights');
      const v = bincountImpl(values(b, input(inputs, 'x')), values(b, weights), weights.dtype, weights.shape, attrs.size);
      return b.makeTensorInfo([attrs.size], weights.dtype, v);
    }),
    nativeKernel<tf.DenseBincountAttrs>('DenseBincount', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const weights = input(inputs, 'weights');
      if (x.shape.length === 1) {
        const v = bincountImpl(values(b, x), values(b, weights), weights.dtype, weights.shape, attrs.size);
        return b.makeTensorInfo([attrs.size], weights.dtype, v);
      }
      if (x.shape.length !== 2) throw new Error(`DenseBincount: input must be at most rank 2, got rank ${x.shape.length}`);
      const out = bincountReduceImpl(buffer(b, x), buffer(b, weights), attrs.size, attrs.binaryOutput);
      return b.makeTensorInfo(out.shape, weights.dtype, out.values);
    }),
  ];
}
