import * as tf from '@tensorflow/tfjs';
import { KernelScope, type KernelArgs } from './kernel-scope.js';
import { freshWeights } from './matmul-fix.js';

/**
 * wasm's Sum and Mean over leading axes (batch statistics: [N,H,W,C] -> [C]) transpose the
 * whole tensor so the reduced axes come last, then reduce. A ones-row matmul,
 * [1, rows] x [rows, C], reads the tensor once instead; other reductions keep the shipped path.
 */
export function leadingAxesReduce(original: tf.KernelConfig, mean: boolean): tf.KernelConfig {
  const shipped = original.kernelFunc as unknown as (args: KernelArgs<string>) => tf.TensorInfo;
  const kernelFunc = (args: KernelArgs<'x'>) => {
    const { x } = args.inputs;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return shipped(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const kept = x.shape.slice(axes.length);
    const s = new KernelScope(args.backend, original.backendName);
    const ones = s.run('Fill', {}, { shape: [1, rows], value: mean ? 1 / rows : 1, dtype: 'float32' });
    const reduced = s.run('BatchMatMul', { a: ones, b: freshWeights(s, s.reshape(x, [rows, tf.util.sizeFromShape(kept)])) },
      { transposeA: false, transposeB: false });
    return s.finish(s.reshape(reduced, keepDims ? [...axes.map(() => 1), ...kept] : kept));
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
