import * as tf from '@tensorflow/tfjs';
import { KilnError } from '../core/errors.js';
import { fastBatchNormGrad } from './batchnorm-grad.js';
import { fastConv2DBackpropInput, missingConvGradKernels } from './conv-grads.js';
import { fixedMatMul } from './matmul-fix.js';
import { leadingAxesReduce } from './reduce-fix.js';

/**
 * Kiln's changes to tfjs-backend-wasm as shipped, each one switchable so that benchmarks can
 * measure it (`bench/train-step.ts --fixes`). All are on from import of the backend module.
 */
export type WasmFix = 'conv-grad-kernels' | 'matmul' | 'batchnorm-grad' | 'conv-input-grad' | 'leading-axis-reduce';
export const WASM_FIXES: readonly WasmFix[] = ['conv-grad-kernels', 'matmul', 'batchnorm-grad', 'conv-input-grad', 'leading-axis-reduce'];

interface Fix {
  enable(): void;
  disable(): void;
}

/** Replaces a registered kernel without tfjs's "overriding" warning. */
function swapKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Swaps kernels in and out. A replacement carries the shipped kernel's `setupFunc`, which binds
 * the wasm function the shipped kernel calls when the backend initializes: without it, turning
 * the fix off after initialization would restore a kernel whose setup never ran.
 */
function kernelFix(configs: () => { ours: tf.KernelConfig; shipped?: tf.KernelConfig }[]): Fix {
  let pairs: ReturnType<typeof configs> | undefined;
  const all = () => (pairs ??= configs().map(({ ours, shipped }) =>
    ({ ours: { ...ours, setupFunc: shipped?.setupFunc ?? ours.setupFunc }, shipped })));
  return {
    enable: () => all().forEach(({ ours }) => swapKernel(ours)),
    disable: () => all().forEach(({ ours, shipped }) => {
      if (shipped) swapKernel(shipped);
      else tf.unregisterKernel(ours.kernelName, ours.backendName);
    }),
  };
}

const fixes: Record<WasmFix, Fix> = {
  'conv-grad-kernels': kernelFix(() => missingConvGradKernels.map((ours) => ({ ours }))),
  'conv-input-grad': kernelFix(() =>
    [{ ours: fastConv2DBackpropInput, shipped: tf.getKernel(tf.Conv2DBackpropInput, 'wasm') }]),
  'matmul': kernelFix(() => [tf.BatchMatMul, tf._FusedMatMul].map((name) => {
    const shipped = tf.getKernel(name, 'wasm');
    return { ours: fixedMatMul(shipped), shipped };
  })),
  'leading-axis-reduce': kernelFix(() => [
    { ours: leadingAxesReduce(tf.getKernel(tf.Sum, 'wasm'), false), shipped: tf.getKernel(tf.Sum, 'wasm') },
    { ours: leadingAxesReduce(tf.getKernel(tf.Mean, 'wasm'), true), shipped: tf.getKernel(tf.Mean, 'wasm') },
  ]),
  'batchnorm-grad': (() => {
    const shipped = tf.getGradient(tf.FusedBatchNorm);
    const swap = (config: tf.GradConfig) => {
      tf.unregisterGradient(config.kernelName);
      tf.registerGradient(config);
    };
    return { enable: () => swap(fastBatchNormGrad(shipped)), disable: () => swap(shipped) };
  })(),
};

const enabled = new Set<WasmFix>();

/** Turns on exactly the given fixes (and off the others). */
export function setWasmFixes(names: readonly string[]): void {
  for (const name of names) {
    if (!(WASM_FIXES as readonly string[]).includes(name)) {
      throw new KilnError(`unknown wasm fix '${name}' (known: ${WASM_FIXES.join(', ')})`);
    }
  }
  for (const name of WASM_FIXES) {
    const want = names.includes(name);
    if (want && !enabled.has(name)) fixes[name].enable();
    if (!want && enabled.has(name)) fixes[name].disable();
    if (want) enabled.add(name);
    else enabled.delete(name);
  }
}

export function activeWasmFixes(): WasmFix[] {
  return WASM_FIXES.filter((name) => enabled.has(name));
}
