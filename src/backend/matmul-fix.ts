import * as tf from '@tensorflow/tfjs';
import { KernelScope, type KernelArgs } from './kernel-scope.js';

/**
 * Three fixes to wasm's BatchMatMul / _FusedMatMul as shipped:
 * - with transposeA or transposeB they take a slow path (10-25x slower than XNNPACK's plain
 *   GEMM), so the operand is transposed explicitly and the kernel runs with both flags false;
 * - _FusedMatMul with a batch dimension and a bias returns wrong values (the bias only reaches
 *   the first matrix), so there the bias and activation run as separate kernels;
 * - they cache XNNPACK's packed copy of b by b's buffer id, ignoring its shape, so a reshaped
 *   view of a buffer already used as b with another shape gets a stale packing (wrong values);
 *   such a b is copied to a fresh buffer first (`freshWeights`).
 * The shipped `setupFunc` is kept: it binds the wasm function the kernel calls.
 */
function lastTwoSwapped(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/** The [batch, rows, cols] each buffer was first used with as b. */
const weightShapes = new WeakMap<object, string>();

export function freshWeights(s: KernelScope, b: tf.TensorInfo): tf.TensorInfo {
  const rank = b.shape.length;
  const key = `${tf.util.sizeFromShape(b.shape.slice(0, -2))}x${b.shape[rank - 2]}x${b.shape[rank - 1]}`;
  const first = weightShapes.get(b.dataId);
  if (first === undefined) weightShapes.set(b.dataId, key);
  return first === undefined || first === key ? b : s.run('Identity', { x: b });
}

interface MatMulAttrs {
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/** Applies a fused activation as its own kernel (the names _FusedMatMul accepts). */
function activate(s: KernelScope, x: tf.TensorInfo, attrs: MatMulAttrs, preluWeights?: tf.TensorInfo): tf.TensorInfo {
  switch (attrs.activation ?? 'linear') {
    case 'linear': return x;
    case 'relu': return s.run('Relu', { x });
    case 'relu6': return s.run('Relu6', { x });
    case 'sigmoid': return s.run('Sigmoid', { x });
    case 'elu': return s.run('Elu', { x });
    case 'leakyrelu': return s.run('LeakyRelu', { x }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
    case 'prelu': return s.run('Prelu', { x, alpha: preluWeights! });
    default: throw new Error(`_FusedMatMul: unsupported activation '${attrs.activation}'`);
  }
}

export function fixedMatMul(original: tf.KernelConfig): tf.KernelConfig {
  const shipped = original.kernelFunc as unknown as (args: KernelArgs<string>) => tf.TensorInfo;
  const kernelFunc = (args: KernelArgs<'a' | 'b'> & { inputs: { bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo } }) => {
    const attrs = args.attrs as MatMulAttrs;
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const batched = bias != null && Math.max(a.shape.length, b.shape.length) > 2
      && Math.max(...a.shape.slice(0, -2), ...b.shape.slice(0, -2)) > 1;
    const s = new KernelScope(args.backend, original.backendName);
    const inputs = {
      a: attrs.transposeA ? s.transpose(a, lastTwoSwapped(a.shape.length)) : a,
      b: freshWeights(s, attrs.transposeB ? s.transpose(b, lastTwoSwapped(b.shape.length)) : b),
    };
    const plainAttrs = { ...args.attrs, transposeA: false, transposeB: false };
    if (!batched) return s.finish(shipped({ ...args, inputs: { ...args.inputs, ...inputs }, attrs: plainAttrs }));
    const product = shipped({ ...args, inputs, attrs: { ...plainAttrs, activation: 'linear' } });
    s.track(product);
    return s.finish(activate(s, s.run('Add', { a: product, b: bias }), attrs, preluActivationWeights));
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}
