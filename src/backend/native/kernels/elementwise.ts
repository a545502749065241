import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../addon.js';
import { dtypeCode } from '../backend.js';
import { input, nativeKernel } from './util.js';

/**
 * Elementwise kernels. Unary and binary ops are tables in the addon, found by tfjs kernel name,
 * so adding one there registers it here.
 */
export function elementwiseKernels(addon: NativeAddon): tf.KernelConfig[] {
  const unary = addon.unaryNames().map((name, code) =>
    nativeKernel(name, ({ inputs, b }) => b.output(b.addon.unary(code, b.slot(input(inputs, 'x'))))));
  const binary = addon.binaryNames().map((name, code) =>
    nativeKernel(name, ({ inputs, b }) => {
      // Prelu names its inputs x and alpha; every other binary op a and b.
      const [l, r] = name === 'Prelu' ? [input(inputs, 'x'), input(inputs, 'alpha')] : [input(inputs, 'a'), input(inputs, 'b')];
      return b.output(b.addon.binary(code, b.slot(l), b.slot(r)));
    }));
  return [
    ...unary,
    ...binary,
    nativeKernel('Identity', ({ inputs, b }) => {
      const x = input(inputs, 'x');
      b.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }),
    nativeKernel<tf.CastAttrs>('Cast', ({ inputs, attrs, b }) => b.output(b.addon.cast(b.slot(input(inputs, 'x')), dtypeCode(attrs.dtype)))),
    nativeKernel<{ alpha: number }>('Step', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const alpha = attrs.alpha ?? 0;
      return b.output(x.dtype === 'float32' ? b.addon.stepFloat(b.slot(x), alpha) : b.addon.step(b.slot(x), alpha));
    }),
    nativeKernel<tf.ClipByValueAttrs>('ClipByValue', ({ inputs, attrs, b }) =>
      b.output(b.addon.clip(b.slot(input(inputs, 'x')), attrs.clipValueMin, attrs.clipValueMax))),
    nativeKernel<tf.LeakyReluAttrs>('LeakyRelu', ({ inputs, attrs, b }) => b.output(b.addon.leakyRelu(b.slot(input(inputs, 'x')), attrs.alpha))),
    nativeKernel('EluGrad', ({ inputs, b }) => b.output(b.addon.eluGrad(b.slot(input(inputs, 'dy')), b.slot(input(inputs, 'y'))))),
    nativeKernel('Select', ({ inputs, b }) =>
      b.output(b.addon.select(b.slot(input(inputs, 'condition')), b.slot(input(inputs, 't')), b.slot(input(inputs, 'e'))))),
    nativeKernel('AddN', ({ inputs, b }) => b.output(b.addon.addN((inputs as unknown as tf.TensorInfo[]).map((t) => b.slot(t))))),
    nativeKernel<tf.FillAttrs>('Fill', ({ attrs, b }) => {
      if (typeof attrs.value !== 'number') throw new Error('the native backend does not support string tensors');
      return b.output(b.addon.fill(attrs.shape, attrs.value, dtypeCode(attrs.dtype ?? 'float32')));
    }),
  ];
}
