import * as tf from '@tensorflow/tfjs';
import type { NativeBackend } from '../backend.js';

/** What a native kernel function receives: tfjs's inputs and attrs, and the backend. */
export interface NativeArgs<A = Record<string, unknown>> {
  inputs: tf.NamedTensorInfoMap;
  attrs: A;
  b: NativeBackend;
}

type Result = tf.TensorInfo | tf.TensorInfo[];

/** A kernel registered for the `native` backend. */
export function nativeKernel<A = Record<string, unknown>>(kernelName: string, fn: (args: NativeArgs<A>) => Result): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'native',
    kernelFunc: ({ inputs, backend, attrs }) =>
      fn({ inputs: inputs as tf.NamedTensorInfoMap, attrs: (attrs ?? {}) as A, b: backend as NativeBackend }),
  };
}

/** The input named `name`, which a kernel cannot run without. */
export function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t == null) throw new Error(`native kernel: missing input '${name}'`);
  return t;
}

/** Axis list of a reduction, non-negative. */
export function axes(axis: number | number[] | undefined | null, shape: number[]): number[] {
  return tf.util.parseAxisParam(axis ?? shape.map((_, i) => i), shape);
}

/** Fails when the addon's result shape is not the one tfjs computed for the op. */
export function expectShape(b: NativeBackend, out: tf.TensorInfo, expected: number[], what: string): tf.TensorInfo {
  if (!tf.util.arraysEqual(out.shape, expected)) {
    b.disposeData(out.dataId);
    throw new Error(`native ${what}: result shape [${out.shape}] differs from tfjs's [${expected}] (unsupported configuration)`);
  }
  return out;
}
