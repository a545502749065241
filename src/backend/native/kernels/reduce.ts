import * as tf from '@tensorflow/tfjs';
import { axes, input, nativeKernel } from './util.js';

/** Reduction codes shared with the addon (native/src/ops_reduce.cc). */
const REDUCTIONS: [kernel: string, axisAttr: 'axis' | 'reductionIndices'][] = [
  ['Sum', 'axis'], ['Prod', 'axis'], ['Mean', 'axis'], ['Max', 'reductionIndices'], ['Min', 'axis'], ['All', 'axis'], ['Any', 'axis'],
];

type ReduceAttrs = { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };

export function reduceKernels(): tf.KernelConfig[] {
  return [
    ...REDUCTIONS.map(([name, axisAttr], code) => nativeKernel<ReduceAttrs>(name, ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      return b.output(b.addon.reduce(code, b.slot(x), axes(attrs[axisAttr], x.shape), attrs.keepDims ?? false));
    })),
    ...(['ArgMax', 'ArgMin'] as const).map((name) => nativeKernel<tf.ArgMaxAttrs>(name, ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      return b.output(b.addon.argReduce(b.slot(x), axes(attrs.axis, x.shape)[0], name === 'ArgMax'));
    })),
    ...(['Cumsum', 'Cumprod'] as const).map((name) => nativeKernel<tf.CumsumAttrs>(name, ({ inputs, attrs, b }) =>
      b.output(b.addon.cumulative(b.slot(input(inputs, 'x')), attrs.axis, attrs.exclusive, attrs.reverse, name === 'Cumprod')))),
    nativeKernel<tf.SoftmaxAttrs>('Softmax', ({ inputs, attrs, b }) => b.output(b.addon.softmax(b.slot(input(inputs, 'logits')), attrs.dim))),
    nativeKernel<tf.TopKAttrs>('TopK', ({ inputs, attrs, b }) => b.outputs(b.addon.topk(b.slot(input(inputs, 'x')), attrs.k))),
    nativeKernel<tf.UnsortedSegmentSumAttrs>('UnsortedSegmentSum', ({ inputs, attrs, b }) =>
      b.output(b.addon.unsortedSegmentSum(b.slot(input(inputs, 'x')), b.slot(input(inputs, 'segmentIds')), attrs.numSegments))),
  ];
}
