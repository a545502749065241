import type * as tf from '@tensorflow/tfjs';
import { FUSED } from '../../fused-names.js';
import { input, nativeKernel } from './util.js';

type Scalars = Record<string, number>;

/** The native implementations of Kiln's fused kernels (see backend/fused.ts). */
export function fusedKernels(): tf.KernelConfig[] {
  return [
    nativeKernel(FUSED.reluGrad, ({ inputs, b }) => b.output(b.addon.reluGrad(b.slot(input(inputs, 'dy')), b.slot(input(inputs, 'x'))))),
    nativeKernel(FUSED.relu6Grad, ({ inputs, b }) => b.output(b.addon.relu6Grad(b.slot(input(inputs, 'dy')), b.slot(input(inputs, 'x'))))),
    nativeKernel<Scalars>(FUSED.clipGrad, ({ inputs, attrs, b }) =>
      b.output(b.addon.clipGrad(b.slot(input(inputs, 'dy')), b.slot(input(inputs, 'x')), attrs.clipValueMin, attrs.clipValueMax))),
    nativeKernel<Scalars>(FUSED.batchNormTrain, ({ inputs, attrs, b }) =>
      b.outputs(b.addon.batchNormTrain(b.slot(input(inputs, 'x')), b.slot(input(inputs, 'scale')), b.slot(input(inputs, 'offset')),
        b.slot(input(inputs, 'movingMean')), b.slot(input(inputs, 'movingVariance')), attrs.epsilon, attrs.decay))),
    nativeKernel<Scalars>(FUSED.batchNormTrainGrad, ({ inputs, attrs, b }) =>
      b.outputs(b.addon.batchNormTrainGrad(b.slot(input(inputs, 'dy')), b.slot(input(inputs, 'x')), b.slot(input(inputs, 'scale')),
        b.slot(input(inputs, 'mean')), b.slot(input(inputs, 'variance')), attrs.epsilon))),
    nativeKernel<Scalars>(FUSED.adam, ({ inputs, attrs, b }) =>
      b.outputs(b.addon.adam(b.slot(input(inputs, 'value')), b.slot(input(inputs, 'm')), b.slot(input(inputs, 'v')), b.slot(input(inputs, 'gradient')),
        attrs.learningRate, attrs.beta1, attrs.oneMinusBeta1, attrs.beta2, attrs.oneMinusBeta2, attrs.epsilon,
        attrs.oneMinusAccBeta1, attrs.oneMinusAccBeta2))),
  ];
}
