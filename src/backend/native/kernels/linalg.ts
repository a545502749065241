import * as tf from '@tensorflow/tfjs';
import type { NativeBackend } from '../backend.js';
import { input, nativeKernel } from './util.js';

/** Fused activation codes shared with the addon (`activate` in native/src/ops_linalg.cc). */
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'prelu', 'leakyrelu', 'sigmoid'];

export function activationCode(activation: string | undefined): number {
  const code = ACTIVATIONS.indexOf(activation ?? 'linear');
  if (code < 0) throw new Error(`native backend: unknown fused activation '${activation}'`);
  return code;
}

/** The addon slot of an optional input, or null. */
export function optionalSlot(b: NativeBackend, t: tf.TensorInfo | undefined): number | null {
  return t == null ? null : b.slot(t);
}

export function linalgKernels(): tf.KernelConfig[] {
  return [
    nativeKernel<tf.BatchMatMulAttrs>('BatchMatMul', ({ inputs, attrs, b }) =>
      b.output(b.addon.matMul(b.slot(input(inputs, 'a')), b.slot(input(inputs, 'b')), attrs.transposeA, attrs.transposeB))),
    nativeKernel<tf._FusedMatMulAttrs>('_FusedMatMul', ({ inputs, attrs, b }) =>
      b.output(b.addon.fusedMatMul(b.slot(input(inputs, 'a')), b.slot(input(inputs, 'b')), attrs.transposeA, attrs.transposeB,
        optionalSlot(b, inputs.bias), activationCode(attrs.activation), optionalSlot(b, inputs.preluActivationWeights),
        attrs.leakyreluAlpha ?? 0.2))),
    nativeKernel<tf.EinsumAttrs>('Einsum', ({ inputs, attrs, b }) =>
      b.output(b.addon.einsum(attrs.equation, (inputs as unknown as tf.TensorInfo[]).map((t) => b.slot(t))))),
  ];
}
