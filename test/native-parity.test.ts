import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../src/core/rng.js';
import { nativeAvailability, tf } from '../src/backend/index.js';
import { FUSED } from '../src/backend/fused.js';

/**
 * Every kernel the native backend registers, run on native and on tfjs's cpu backend with the
 * same seeded inputs: outputs (shape, dtype, values) and, where tfjs has a gradient, the gradients
 * of sum(output * r) with respect to every float input. The table must hold a case for each
 * registered kernel, so a kernel added without one fails here.
 */

type DType = 'float32' | 'int32' | 'bool';
/** How values are drawn: normal, (-1, 1), (0, 3), (1, 4), special floats, ints in [-4, 4], bools, or [0, n). */
type Gen = 'normal' | 'unit' | 'positive' | 'gt1' | 'special' | 'int' | 'bool' | `index:${number}` | number[];

interface Spec {
  shape: number[];
  dtype?: DType;
  gen?: Gen;
}

interface Case {
  inputs: Record<string, Spec> | Spec[];
  attrs?: Record<string, unknown>;
  label?: string;
  /** Compare gradients too (default: when tfjs has a gradient and there is a float input). */
  grad?: boolean;
  /**
   * For a gradient kernel whose cpu version is not the gradient of its forward kernel: check
   * <forward(x), dy> = <x, kernel(dy)> on native instead of comparing with cpu.
   */
  adjointOf?: string;
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -0.5, 2.5, -3.5, 6, 7, 1e-30, -1e-30, 60, -60, 1e30];

function values(spec: Spec, seed: number): number[] {
  const rng = createRng(seed);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const gen = spec.gen ?? (spec.dtype === 'int32' ? 'int' : spec.dtype === 'bool' ? 'bool' : 'normal');
  if (Array.isArray(gen)) return Array.from({ length: n }, (_, i) => gen[i % gen.length]);
  return Array.from({ length: n }, (_, i) => {
    switch (gen) {
      case 'normal': return rng.normal();
      case 'unit': return rng.next() * 1.9 - 0.95;
      case 'positive': return 0.05 + rng.next() * 3;
      case 'gt1': return 1.05 + rng.next() * 3;
      case 'special': return SPECIAL[i % SPECIAL.length];
      case 'int': return rng.int(9) - 4;
      case 'bool': return rng.int(2);
      default: return rng.int(Number(gen.slice('index:'.length)));
    }
  });
}

const f = (shape: number[], gen?: Gen): Spec => ({ shape, dtype: 'float32', gen });
const i32 = (shape: number[], gen?: Gen): Spec => ({ shape, dtype: 'int32', gen });
const bool = (shape: number[]): Spec => ({ shape, dtype: 'bool' });

// Elementwise kernels come in families that share their cases.
const UNARY_DOMAIN: Record<string, Gen> = {
  Acos: 'unit', Asin: 'unit', Atanh: 'unit', Acosh: 'gt1', Log: 'positive', Log1p: 'positive', Sqrt: 'positive', Rsqrt: 'positive',
  Reciprocal: 'positive',
};
const UNARY = ['Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp', 'Expm1', 'Floor',
  'IsFinite', 'IsInf', 'IsNan', 'Log', 'Log1p', 'Neg', 'Reciprocal', 'Relu', 'Relu6', 'Round', 'Rsqrt', 'Selu', 'Sigmoid', 'Sign',
  'Sin', 'Sinh', 'Softplus', 'Sqrt', 'Square', 'Tan', 'Tanh', 'ZerosLike', 'OnesLike'];
const unaryCases = (name: string): Case[] => [
  { inputs: { x: f([2, 3, 4], UNARY_DOMAIN[name]) } },
  { inputs: { x: f([], UNARY_DOMAIN[name]) }, label: 'scalar' },
  { inputs: { x: f([0, 3]) }, label: 'empty' },
  { inputs: { x: f([SPECIAL.length], 'special') }, label: 'special values', grad: false },
  { inputs: { x: i32([9]) }, label: 'int32', grad: false },
];

const ARITHMETIC = ['Add', 'Sub', 'Multiply', 'RealDiv', 'FloorDiv', 'Maximum', 'Minimum', 'Mod', 'Pow', 'SquaredDifference', 'Atan2'];
const COMPARISON = ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual'];
const binaryCases = (name: string): Case[] => {
  const positive = name === 'Pow' ? 'positive' : undefined;
  const cases: Case[] = [
    { inputs: { a: f([2, 3, 4], positive), b: f([2, 3, 4]) } },
    { inputs: { a: f([2, 1, 4], positive), b: f([3, 1]) }, label: 'broadcast' },
    { inputs: { a: f([], positive), b: f([2, 3]) }, label: 'scalar' },
    { inputs: { a: f([0, 3]), b: f([3]) }, label: 'empty' },
    { inputs: { a: i32([4, 5]), b: i32([5], [3, -2, 1, 4, -1]) }, label: 'int32', grad: false },
  ];
  if (ARITHMETIC.includes(name)) cases.push({ inputs: { a: f([SPECIAL.length], 'special'), b: f([SPECIAL.length], [2, -1, 0, 3, NaN, -0.5]) }, label: 'special', grad: false });
  if (COMPARISON.includes(name)) cases.push({ inputs: { a: i32([6, 4]), b: i32([4]) }, label: 'int32 ties', grad: false });
  return cases;
};

const conv2dInput = f([2, 9, 8, 3]);
const convCases = (fused: boolean): Case[] => {
  const base = (filter: number[], attrs: Record<string, unknown>, label: string, x = conv2dInput): Case => ({
    inputs: fused ? { x, filter: f(filter), bias: f([filter[3]]) } : { x, filter: f(filter) },
    attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, ...(fused ? { activation: 'relu' } : {}), ...attrs }, label,
  });
  const cases = [
    base([3, 3, 3, 4], {}, 'same'),
    base([3, 3, 3, 4], { strides: 2 }, 'stride 2 same (asymmetric pad)'),
    base([5, 3, 3, 2], { pad: 'valid', strides: [2, 1] }, 'valid, 5x3, strides 2x1'),
    base([3, 3, 3, 4], { dilations: 2 }, 'dilation 2'),
    base([1, 1, 3, 5], { pad: 0 }, '1x1, pad 0'),
    base([3, 3, 3, 2], { pad: [[0, 0], [2, 1], [0, 1], [0, 0]] }, 'explicit asymmetric pad'),
    base([2, 2, 3, 2], { pad: 1, strides: 3 }, 'numeric pad 1, stride 3'),
  ];
  if (!fused) cases.push(base([3, 3, 3, 4], { dataFormat: 'NCHW' }, 'NCHW', f([2, 3, 9, 8])));
  if (fused) {
    for (const activation of ['linear', 'relu6', 'elu', 'sigmoid', 'leakyrelu']) cases.push(base([3, 3, 3, 4], { activation, leakyreluAlpha: 0.1 }, activation));
    cases.push({ inputs: { x: conv2dInput, filter: f([3, 3, 3, 4]), bias: f([4]), preluActivationWeights: f([4]) },
      attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'prelu' }, label: 'prelu' });
  }
  return cases;
};

const depthwiseCases = (fused: boolean): Case[] => {
  const base = (filter: number[], attrs: Record<string, unknown>, label: string): Case => ({
    inputs: fused ? { x: conv2dInput, filter: f(filter), bias: f([filter[2] * filter[3]]) } : { x: conv2dInput, filter: f(filter) },
    attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, ...(fused ? { activation: 'relu6' } : {}), ...attrs }, label,
  });
  return [
    base([3, 3, 3, 1], {}, 'same'),
    base([3, 3, 3, 2], { strides: 2 }, 'multiplier 2, stride 2'),
    base([3, 3, 3, 1], { pad: 'valid', dilations: 2 }, 'valid, dilation 2'),
    base([5, 5, 3, 1], { strides: 2, pad: 'same' }, '5x5 stride 2'),
    base([5, 3, 3, 1], { pad: 'valid', dilations: [1, 2] }, '5x3 valid, dilation 1x2'),
  ];
};

const poolAttrs = (filterSize: number | number[], strides: number | number[], pad: unknown) => ({ filterSize, strides, pad, dimRoundingMode: undefined });
// tfjs's cpu AvgPoolGrad divides by the whole window where its AvgPool divides by the real values
// in it, so at padded borders it is not AvgPool's gradient; those cases are checked by adjointness.
const poolCases = (kernel: 'MaxPool' | 'AvgPool', grad: boolean): Case[] => {
  const mk = (attrs: Record<string, unknown>, label: string, padded: boolean): Case => {
    const xShape = [2, 7, 6, 3];
    const avgPadded = kernel === 'AvgPool' && padded;
    if (!grad) return { inputs: { x: f(xShape) }, attrs, label, grad: !avgPadded };
    const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], attrs.filterSize as number, attrs.strides as number, 1, attrs.pad as 'same');
    return { inputs: { dy: f(info.outShape), input: f(xShape), output: f(info.outShape) }, attrs, label, adjointOf: avgPadded ? kernel : undefined };
  };
  return [
    mk(poolAttrs(2, 2, 'valid'), '2x2/2 valid', false),
    mk(poolAttrs(3, 2, 'same'), '3x3/2 same (asymmetric)', true),
    mk(poolAttrs(3, 1, 'same'), '3x3/1 same', true),
    mk(poolAttrs(3, 2, 1), 'numeric pad 1', true),
    mk(poolAttrs(4, 1, 'same'), '4x4 same (pad larger than half the window)', true),
  ];
};
const pool3dCases = (kernel: 'MaxPool3D' | 'AvgPool3D', grad: boolean): Case[] => {
  const xShape = [1, 5, 4, 4, 2];
  return [[2, 2, 'valid'], [3, 1, 'same'], [3, 2, 'same']].map(([k, s, pad]): Case => {
    const attrs = { filterSize: k, strides: s, pad, dataFormat: 'NDHWC' };
    const avgPadded = kernel === 'AvgPool3D' && pad === 'same';
    if (!grad) return { inputs: { x: f(xShape) }, attrs, label: `${k}/${s} ${pad}`, grad: !avgPadded };
    const info = tf.backend_util.computePool3DInfo(xShape as [number, number, number, number, number], k as number, s as number, 1, pad as 'same');
    return { inputs: { dy: f(info.outShape), input: f(xShape), output: f(info.outShape) }, attrs, label: `${k}/${s} ${pad}`, adjointOf: avgPadded ? kernel : undefined };
  });
};

const resize = (name: string, h: number, w: number, size: [number, number], alignCorners: boolean, halfPixelCenters: boolean): Case => {
  const attrs = { size, alignCorners, halfPixelCenters };
  const label = `${h}x${w} -> ${size.join('x')}${alignCorners ? ' align' : ''}${halfPixelCenters ? ' half-pixel' : ''}`;
  if (name.endsWith('Grad')) return { inputs: { images: f([2, h, w, 3]), dy: f([2, ...size, 3]) }, attrs, label, adjointOf: name.slice(0, -'Grad'.length) };
  // The gradients of these forward kernels go through the Grad kernels, checked by adjointness.
  return { inputs: { images: f([2, h, w, 3]) }, attrs, label, grad: false };
};
const resizeModes: [boolean, boolean][] = [[false, false], [true, false], [false, true]];

const CASES: Record<string, Case[]> = {
  ...Object.fromEntries(UNARY.map((n) => [n, unaryCases(n)])),
  ...Object.fromEntries([...ARITHMETIC, ...COMPARISON].map((n) => [n, binaryCases(n)])),
  LogicalNot: [{ inputs: { x: bool([3, 4]) } }],
  LogicalAnd: [{ inputs: { a: bool([3, 4]), b: bool([4]) } }],
  LogicalOr: [{ inputs: { a: bool([3, 4]), b: bool([3, 1]) } }],
  BitwiseAnd: [{ inputs: { a: i32([3, 4], 'index:64'), b: i32([3, 4], 'index:64') } }],
  Prelu: [{ inputs: { x: f([2, 3, 4]), alpha: f([4]) } }, { inputs: { x: f([5]), alpha: f([]) }, label: 'scalar alpha' }],
  Identity: [{ inputs: { x: f([2, 3]) } }, { inputs: { x: i32([4]) } }],
  Cast: [
    { inputs: { x: f([12], [1.7, -1.7, 0.5, -0.5, 2, -0, 3.99, -3.99, 1e9, 0, 7, -7]) }, attrs: { dtype: 'int32' }, label: 'float -> int32' },
    { inputs: { x: f([5], [0, 1.5, NaN, -0, -2]) }, attrs: { dtype: 'bool' }, label: 'float -> bool' },
    { inputs: { x: i32([6]) }, attrs: { dtype: 'float32' }, label: 'int32 -> float', grad: false },
    { inputs: { x: i32([6]) }, attrs: { dtype: 'bool' }, label: 'int32 -> bool' },
    { inputs: { x: bool([6]) }, attrs: { dtype: 'float32' }, label: 'bool -> float' },
    { inputs: { x: bool([6]) }, attrs: { dtype: 'int32' }, label: 'bool -> int32' },
    { inputs: { x: f([2, 3]) }, attrs: { dtype: 'float32' }, label: 'float -> float' },
  ],
  Step: [{ inputs: { x: f([SPECIAL.length], 'special') }, attrs: { alpha: 0 }, grad: false }, { inputs: { x: f([3, 4]) }, attrs: { alpha: 0.3 } },
    { inputs: { x: i32([7]) }, attrs: { alpha: 0 }, label: 'int32' }],
  ClipByValue: [{ inputs: { x: f([3, 4]) }, attrs: { clipValueMin: -0.5, clipValueMax: 0.7 } },
    { inputs: { x: f([SPECIAL.length], 'special') }, attrs: { clipValueMin: 0, clipValueMax: 6 }, label: 'special', grad: false },
    { inputs: { x: i32([7]) }, attrs: { clipValueMin: -1, clipValueMax: 2 }, label: 'int32' }],
  LeakyRelu: [{ inputs: { x: f([3, 4]) }, attrs: { alpha: 0.2 } }, { inputs: { x: f([5], 'special') }, attrs: { alpha: 0.1 }, label: 'special', grad: false }],
  EluGrad: [{ inputs: { dy: f([3, 4]), y: f([3, 4]) } }],
  Select: [
    { inputs: { condition: bool([3, 4]), t: f([3, 4]), e: f([3, 4]) } },
    { inputs: { condition: bool([5]), t: i32([5]), e: i32([5]) }, label: 'int32' },
  ],
  AddN: [{ inputs: [f([2, 3]), f([2, 3]), f([2, 3])] }, { inputs: [i32([4]), i32([4])], label: 'int32' }],
  Fill: [{ inputs: {}, attrs: { shape: [2, 3], value: 1.5, dtype: 'float32' } }, { inputs: {}, attrs: { shape: [4], value: 7, dtype: 'int32' } },
    { inputs: {}, attrs: { shape: [0, 2], value: 1, dtype: 'float32' }, label: 'empty' }],

  ...Object.fromEntries(['Sum', 'Prod', 'Mean', 'Max', 'Min'].map((name) => {
    const axisKey = name === 'Max' ? 'reductionIndices' : 'axis';
    return [name, [
      { inputs: { x: f([2, 3, 4], name === 'Prod' ? 'positive' : undefined) }, attrs: { [axisKey]: [1], keepDims: false } },
      { inputs: { x: f([2, 3, 4]) }, attrs: { [axisKey]: [0, 2], keepDims: true }, label: 'axes 0,2 keepDims' },
      { inputs: { x: f([2, 3, 4]) }, attrs: { [axisKey]: [-1], keepDims: false }, label: 'negative axis' },
      { inputs: { x: f([5, 3]) }, attrs: { [axisKey]: [0, 1], keepDims: false }, label: 'all axes' },
      { inputs: { x: f([]) }, attrs: { [axisKey]: [], keepDims: false }, label: 'scalar, no axes' },
      { inputs: { x: i32([3, 4]) }, attrs: { [axisKey]: [1], keepDims: false }, label: 'int32' },
      ...(name === 'Sum' || name === 'Max' ? [{ inputs: { x: bool([3, 4]) }, attrs: { [axisKey]: [0], keepDims: false }, label: 'bool' }] : []),
      ...(name === 'Sum' || name === 'Mean' ? [{ inputs: { x: f([0, 3]) }, attrs: { [axisKey]: [1], keepDims: false }, label: 'empty' }] : []),
    ] as Case[]];
  })),
  All: [{ inputs: { x: bool([3, 4]) }, attrs: { axis: [1], keepDims: false } }, { inputs: { x: bool([2, 3, 2]) }, attrs: { axis: [0, 2], keepDims: true } }],
  Any: [{ inputs: { x: bool([3, 4]) }, attrs: { axis: [1], keepDims: false } }, { inputs: { x: bool([2, 3, 2]) }, attrs: { axis: [0, 2], keepDims: true } }],
  ArgMax: [{ inputs: { x: f([3, 5]) }, attrs: { axis: 1 } }, { inputs: { x: f([3, 5]) }, attrs: { axis: 0 } }, { inputs: { x: i32([2, 3, 4], 'index:1000') }, attrs: { axis: 2 } }],
  ArgMin: [{ inputs: { x: f([3, 5]) }, attrs: { axis: 1 } }, { inputs: { x: f([4]) }, attrs: { axis: 0 } }],
  ...Object.fromEntries(['Cumsum', 'Cumprod'].map((name) => [name, [
    { inputs: { x: f([3, 4]) }, attrs: { axis: 1, exclusive: false, reverse: false } },
    { inputs: { x: f([3, 4]) }, attrs: { axis: 0, exclusive: true, reverse: false }, label: 'exclusive' },
    { inputs: { x: f([3, 4]) }, attrs: { axis: 1, exclusive: false, reverse: true }, label: 'reverse' },
    { inputs: { x: f([3, 4]) }, attrs: { axis: 1, exclusive: true, reverse: true }, label: 'exclusive reverse' },
    { inputs: { x: i32([5]) }, attrs: { axis: 0, exclusive: false, reverse: false }, label: 'int32' },
  ] as Case[]])),
  Softmax: [{ inputs: { logits: f([3, 5]) }, attrs: { dim: -1 } }, { inputs: { logits: f([2, 2, 6]) }, attrs: { dim: -1 } }],
  TopK: [{ inputs: { x: f([3, 7]) }, attrs: { k: 3, sorted: true } }, { inputs: { x: i32([9], [5, 1, 9, 3, 7, 2, 8, 4, 6]) }, attrs: { k: 4, sorted: true }, label: 'int32' }],
  UnsortedSegmentSum: [{ inputs: { x: f([6, 3]), segmentIds: i32([6], [0, 2, 0, 1, 2, 2]) }, attrs: { numSegments: 4 } }],

  BatchMatMul: [
    { inputs: { a: f([3, 4]), b: f([4, 5]) }, attrs: { transposeA: false, transposeB: false } },
    { inputs: { a: f([4, 3]), b: f([4, 5]) }, attrs: { transposeA: true, transposeB: false }, label: 'transposeA' },
    { inputs: { a: f([3, 4]), b: f([5, 4]) }, attrs: { transposeA: false, transposeB: true }, label: 'transposeB' },
    { inputs: { a: f([2, 4, 3]), b: f([2, 5, 4]) }, attrs: { transposeA: true, transposeB: true }, label: 'batched, both transposed' },
    { inputs: { a: f([1, 3, 4]), b: f([2, 4, 2]) }, attrs: { transposeA: false, transposeB: false }, label: 'broadcast batch' },
    { inputs: { a: i32([2, 3]), b: i32([3, 2]) }, attrs: { transposeA: false, transposeB: false }, label: 'int32', grad: false },
    { inputs: { a: f([0, 4]), b: f([4, 3]) }, attrs: { transposeA: false, transposeB: false }, label: 'empty' },
  ],
  _FusedMatMul: ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'].map((activation) => ({
    inputs: { a: f([3, 4]), b: f([4, 5]), bias: f([5]) }, attrs: { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0.2 }, label: activation,
  } as Case)).concat([
    { inputs: { a: f([2, 3, 4]), b: f([2, 4, 5]), bias: f([5]) }, attrs: { transposeA: false, transposeB: false, activation: 'relu' }, label: 'batched' },
    { inputs: { a: f([4, 3]), b: f([5, 4]), bias: f([5]), preluActivationWeights: f([5]) }, attrs: { transposeA: true, transposeB: true, activation: 'prelu' }, label: 'prelu, transposed' },
  ]),
  Einsum: [
    { inputs: [f([3, 4]), f([4, 5])], attrs: { equation: 'ij,jk->ik' } },
    { inputs: [f([2, 3, 4]), f([2, 4, 5])], attrs: { equation: 'bij,bjk->bik' } },
    { inputs: [f([3, 4])], attrs: { equation: 'ij->ji' } },
  ],

  Conv2D: convCases(false),
  FusedConv2D: convCases(true),
  DepthwiseConv2dNative: depthwiseCases(false),
  FusedDepthwiseConv2D: depthwiseCases(true),
  Conv2DBackpropInput: [
    { inputs: { dy: f([2, 5, 4, 4]), filter: f([3, 3, 3, 4]) }, attrs: { inputShape: [2, 9, 8, 3], strides: 2, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined } },
    { inputs: { dy: f([2, 7, 6, 4]), filter: f([3, 3, 3, 4]) }, attrs: { inputShape: [2, 9, 8, 3], strides: 1, pad: 'valid', dataFormat: 'NHWC' }, label: 'valid' },
  ],
  Conv2DBackpropFilter: [
    { inputs: { x: conv2dInput, dy: f([2, 5, 4, 4]) }, attrs: { filterShape: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NHWC' } },
    { inputs: { x: conv2dInput, dy: f([2, 7, 6, 4]) }, attrs: { filterShape: [3, 3, 3, 4], strides: 1, pad: 'valid', dataFormat: 'NHWC' }, label: 'valid' },
  ],
  DepthwiseConv2dNativeBackpropInput: [
    { inputs: { dy: f([2, 5, 4, 6]), filter: f([3, 3, 3, 2]) }, attrs: { inputShape: [2, 9, 8, 3], strides: 2, pad: 'same', dilations: 1 } },
  ],
  DepthwiseConv2dNativeBackpropFilter: [
    { inputs: { x: conv2dInput, dy: f([2, 5, 4, 6]) }, attrs: { filterShape: [3, 3, 3, 2], strides: 2, pad: 'same', dilations: 1 } },
    { inputs: { x: conv2dInput, dy: f([2, 5, 4, 3]) }, attrs: { filterShape: [5, 5, 3, 1], strides: 2, pad: 'same', dilations: 1 }, label: '5x5 (Kiln\'s kernel)' },
    // tfjs's cpu kernel ignores dilations here (its gradient refuses them before reaching it).
    { inputs: { x: conv2dInput, dy: f([2, 5, 4, 3]) }, attrs: { filterShape: [5, 3, 3, 1], strides: 1, pad: 'valid', dilations: [1, 2] },
      label: '5x3 dilated (Kiln\'s kernel)', adjointOf: 'DepthwiseConv2dNative' },
  ],
  Conv3D: [
    { inputs: { x: f([1, 5, 6, 4, 2]), filter: f([3, 3, 2, 2, 3]) }, attrs: { strides: 1, pad: 'same', dataFormat: 'NDHWC', dilations: 1 } },
    { inputs: { x: f([2, 5, 6, 4, 2]), filter: f([2, 3, 3, 2, 3]) }, attrs: { strides: 2, pad: 'valid', dataFormat: 'NDHWC', dilations: 1 }, label: 'stride 2 valid' },
  ],
  Conv3DBackpropInputV2: [
    { inputs: { dy: f([1, 3, 3, 2, 3]), filter: f([3, 3, 2, 2, 3]) }, attrs: { inputShape: [1, 5, 6, 4, 2], strides: 2, pad: 'same' } },
  ],
  Conv3DBackpropFilterV2: [
    { inputs: { x: f([1, 5, 6, 4, 2]), dy: f([1, 3, 3, 2, 3]) }, attrs: { filterShape: [3, 3, 2, 2, 3], strides: 2, pad: 'same' } },
  ],
  MaxPool: poolCases('MaxPool', false),
  AvgPool: poolCases('AvgPool', false),
  MaxPoolGrad: poolCases('MaxPool', true),
  AvgPoolGrad: poolCases('AvgPool', true),
  MaxPool3D: pool3dCases('MaxPool3D', false),
  AvgPool3D: pool3dCases('AvgPool3D', false),
  MaxPool3DGrad: pool3dCases('MaxPool3D', true),
  AvgPool3DGrad: pool3dCases('AvgPool3D', true),
  FusedBatchNorm: [
    { inputs: { x: f([2, 3, 3, 4]), mean: f([4]), variance: f([4], 'positive'), offset: f([4]), scale: f([4]) }, attrs: { varianceEpsilon: 1e-3 } },
    { inputs: { x: f([5, 4]), mean: f([4]), variance: f([4], 'positive') }, attrs: { varianceEpsilon: 1e-3 }, label: 'no scale or offset' },
    { inputs: { x: f([2, 3, 4]), mean: f([2, 3, 4]), variance: f([2, 3, 4], 'positive'), scale: f([2, 3, 4]) }, attrs: { varianceEpsilon: 1e-5 }, label: 'full-shape statistics' },
    { inputs: { x: f([2, 3, 4]), mean: f([2, 3, 4]), variance: f([2, 3, 4], 'positive'), scale: f([4]) }, attrs: { varianceEpsilon: 1e-5 }, label: 'ranks differ: refused' },
  ],

  Reshape: [{ inputs: { x: f([2, 3, 4]) }, attrs: { shape: [4, -1] } }, { inputs: { x: i32([6]) }, attrs: { shape: [2, 3] } }, { inputs: { x: f([0, 2]) }, attrs: { shape: [0, 1, 2] }, label: 'empty' }],
  Transpose: [{ inputs: { x: f([2, 3, 4]) }, attrs: { perm: [2, 0, 1] } }, { inputs: { x: bool([2, 3]) }, attrs: { perm: [1, 0] } }],
  ExpandDims: [{ inputs: { input: f([2, 3]) }, attrs: { dim: 1 } }, { inputs: { input: f([2, 3]) }, attrs: { dim: -1 } }],
  Slice: [{ inputs: { x: f([4, 5, 3]) }, attrs: { begin: [1, 0, 1], size: [2, -1, 2] } }, { inputs: { x: i32([6]) }, attrs: { begin: [2], size: [0] }, label: 'empty' }],
  StridedSlice: [
    { inputs: { x: f([5, 6]) }, attrs: { begin: [1, 0], end: [4, 6], strides: [1, 2], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 } },
    { inputs: { x: f([5, 6]) }, attrs: { begin: [4, 5], end: [0, 0], strides: [-1, -2], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 }, label: 'negative strides' },
    { inputs: { x: f([5, 6, 2]) }, attrs: { begin: [2, 0], end: [3, 0], strides: [1, 1], beginMask: 0, endMask: 2, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 1 }, label: 'shrink + end mask' },
    { inputs: { x: f([3, 4]) }, attrs: { begin: [0, 0, 1], end: [0, 0, 3], strides: [1, 1, 1], beginMask: 1, endMask: 1, ellipsisMask: 0, newAxisMask: 2, shrinkAxisMask: 0 }, label: 'new axis' },
    { inputs: { x: f([2, 3, 4]) }, attrs: { begin: [0, 1], end: [0, 3], strides: [1, 1], beginMask: 0, endMask: 0, ellipsisMask: 1, newAxisMask: 0, shrinkAxisMask: 0 }, label: 'ellipsis' },
  ],
  Concat: [
    { inputs: [f([2, 3]), f([2, 1]), f([2, 2])], attrs: { axis: 1 } },
    { inputs: [f([0, 3]), f([2, 3])], attrs: { axis: 0 }, label: 'with an empty input' },
    { inputs: [i32([3]), i32([2])], attrs: { axis: 0 }, label: 'int32' },
  ],
  Pack: [{ inputs: [f([2, 3]), f([2, 3])], attrs: { axis: 1 } }, { inputs: [f([]), f([]), f([])], attrs: { axis: 0 }, label: 'scalars' }],
  Unpack: [{ inputs: { value: f([3, 2, 4]) }, attrs: { axis: 1, num: 2 } }, { inputs: { value: i32([3, 2]) }, attrs: { axis: 0, num: 3 } }],
  SplitV: [{ inputs: { x: f([4, 6]) }, attrs: { numOrSizeSplits: [1, -1, 2], axis: 1 } }, { inputs: { x: f([4, 6]) }, attrs: { numOrSizeSplits: 2, axis: 0 } }],
  PadV2: [{ inputs: { x: f([2, 3]) }, attrs: { paddings: [[1, 0], [2, 3]], constantValue: 0.5 } }, { inputs: { x: i32([3]) }, attrs: { paddings: [[0, 2]], constantValue: 7 } }],
  MirrorPad: [{ inputs: { x: f([3, 4]) }, attrs: { paddings: [[1, 2], [2, 0]], mode: 'reflect' } }, { inputs: { x: f([3, 4]) }, attrs: { paddings: [[3, 1], [0, 4]], mode: 'symmetric' } }],
  Tile: [{ inputs: { x: f([2, 3]) }, attrs: { reps: [2, 3] } }, { inputs: { x: i32([3]) }, attrs: { reps: [4] } }],
  Reverse: [{ inputs: { x: f([2, 3, 4]) }, attrs: { dims: [0, 2] } }, { inputs: { x: i32([5]) }, attrs: { dims: [0] } }],
  GatherV2: [
    { inputs: { x: f([5, 3]), indices: i32([4], [4, 0, 2, 2]) }, attrs: { axis: 0, batchDims: 0 } },
    { inputs: { x: f([2, 5, 3]), indices: i32([2, 2], [1, 4, 0, 3]) }, attrs: { axis: 1, batchDims: 0 }, label: 'axis 1, 2-D indices' },
    { inputs: { x: f([2, 5, 3]), indices: i32([2, 3], [1, 4, 0, 3, 3, 2]) }, attrs: { axis: 1, batchDims: 1 }, label: 'batchDims 1' },
  ],
  GatherNd: [{ inputs: { params: f([4, 3, 2]), indices: i32([3, 2], [0, 1, 3, 2, 1, 0]) } }, { inputs: { params: f([4, 3]), indices: i32([2, 1], [3, 0]) }, label: 'slices' }],
  ScatterNd: [{ inputs: { indices: i32([4, 1], [0, 2, 0, 3]), updates: f([4, 3]) }, attrs: { shape: [5, 3] }, label: 'duplicates add' }],
  TensorScatterUpdate: [{ inputs: { tensor: f([5, 3]), indices: i32([2, 1], [4, 1]), updates: f([2, 3]) } }],
  OneHot: [{ inputs: { indices: i32([5], [0, 3, -1, 4, 9]) }, attrs: { depth: 5, onValue: 1, offValue: 0, dtype: 'float32' }, label: 'out-of-range rows are off' },
    { inputs: { indices: i32([2, 2], [1, 0, 2, 1]) }, attrs: { depth: 3, onValue: 5, offValue: -1, dtype: 'int32' } }],
  Diag: [{ inputs: { x: f([3]) } }, { inputs: { x: f([2, 2]) } }],
  DepthToSpace: [{ inputs: { x: f([1, 2, 3, 8]) }, attrs: { blockSize: 2, dataFormat: 'NHWC' } }],
  SpaceToBatchND: [{ inputs: { x: f([1, 4, 3, 2]) }, attrs: { blockShape: [2, 2], paddings: [[0, 0], [0, 1]] } }],
  BatchToSpaceND: [{ inputs: { x: f([4, 2, 2, 2]) }, attrs: { blockShape: [2, 2], crops: [[0, 1], [1, 0]] } }],
  SearchSorted: [{ inputs: { sortedSequence: f([2, 5], [1, 2, 2, 4, 7]), values: f([2, 3], [2, 0, 8]) }, attrs: { side: 'left' } },
    { inputs: { sortedSequence: f([2, 5], [1, 2, 2, 4, 7]), values: f([2, 3], [2, 0, 8]) }, attrs: { side: 'right' } }],

  ResizeBilinear: resizeModes.flatMap(([a, h]) => [resize('ResizeBilinear', 4, 5, [7, 9], a, h), resize('ResizeBilinear', 8, 6, [3, 4], a, h)]),
  // tfjs's cpu resize gradients are not the adjoints of its forward kernels (nearest neighbour
  // misroutes some rows, bilinear ignores half-pixel centers and swaps height and width), so these
  // are checked by adjointness against the forward kernel.
  ResizeBilinearGrad: resizeModes.flatMap(([a, h]) => [resize('ResizeBilinearGrad', 4, 5, [7, 9], a, h), resize('ResizeBilinearGrad', 8, 6, [3, 4], a, h)]),
  ResizeNearestNeighbor: resizeModes.flatMap(([a, h]) => [resize('ResizeNearestNeighbor', 4, 5, [7, 9], a, h), resize('ResizeNearestNeighbor', 8, 6, [3, 4], a, h)]),
  ResizeNearestNeighborGrad: resizeModes.flatMap(([a, h]) => [resize('ResizeNearestNeighborGrad', 4, 5, [7, 9], a, h), resize('ResizeNearestNeighborGrad', 8, 6, [3, 4], a, h)]),
  FlipLeftRight: [{ inputs: { image: f([2, 3, 4, 3]) } }],

  Range: [{ inputs: {}, attrs: { start: 0.5, stop: 3.3, step: 0.4, dtype: 'float32' } }, { inputs: {}, attrs: { start: 5, stop: -3, step: -2, dtype: 'int32' } }],
  LinSpace: [{ inputs: {}, attrs: { start: -1, stop: 2, num: 7 } }],
  NonMaxSuppressionV3: [{ inputs: { boxes: f([6, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101]), scores: f([6], [0.9, 0.75, 0.6, 0.95, 0.5, 0.3]) },
    attrs: { maxOutputSize: 3, iouThreshold: 0.5, scoreThreshold: 0 } }],
  NonMaxSuppressionV4: [{ inputs: { boxes: f([3, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 10, 1, 11]), scores: f([3], [0.9, 0.8, 0.7]) },
    attrs: { maxOutputSize: 3, iouThreshold: 0.5, scoreThreshold: 0, padToMaxOutputSize: true } }],
  NonMaxSuppressionV5: [{ inputs: { boxes: f([3, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 10, 1, 11]), scores: f([3], [0.9, 0.8, 0.7]) },
    attrs: { maxOutputSize: 3, iouThreshold: 0.5, scoreThreshold: 0, softNmsSigma: 0.5 } }],
  Unique: [{ inputs: { x: i32([8], [3, 1, 3, 2, 1, 7, 7, 0]) }, attrs: { axis: 0 } }, { inputs: { x: f([3, 2], [1, 2, 3, 4, 1, 2]) }, attrs: { axis: 0 }, label: 'rows' }],
  Bincount: [{ inputs: { x: i32([6], [0, 1, 1, 3, 2, 1]), weights: f([6]) }, attrs: { size: 5 } }],
  DenseBincount: [{ inputs: { x: i32([2, 3], [0, 1, 1, 3, 2, 3]), weights: f([0]) }, attrs: { size: 4, binaryOutput: true } }],
};

interface Outputs {
  shapes: number[][];
  dtypes: string[];
  values: number[][];
}

function isList(inputs: Case['inputs']): inputs is Spec[] {
  return Array.isArray(inputs);
}

/** Runs a case on the current backend: its outputs and, when asked, its gradients. */
function runCase(name: string, c: Case, withGrad: boolean): { out: Outputs; grads?: number[][] } {
  const specs = isList(c.inputs) ? c.inputs.map((s, k) => [String(k), s] as const) : Object.entries(c.inputs);
  let result: { out: Outputs; grads?: number[][] } | undefined;
  tf.tidy(() => {
    const tensors = specs.map(([, s], k) => tf.tensor(values(s, 100 + k), s.shape, s.dtype ?? 'float32'));
    const assemble = (ts: tf.Tensor[]) => (isList(c.inputs) ? ts : Object.fromEntries(specs.map(([key], k) => [key, ts[k]])));
    const call = (ts: tf.Tensor[]) => {
      const r = tf.engine().runKernel(name, assemble(ts) as tf.NamedTensorMap, (c.attrs ?? {}) as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
      return Array.isArray(r) ? r : [r];
    };
    const outs = call(tensors);
    const out: Outputs = { shapes: outs.map((t) => t.shape), dtypes: outs.map((t) => t.dtype), values: outs.map((t) => Array.from(t.dataSync())) };
    if (!withGrad) {
      result = { out };
      return;
    }
    const floatIdx = tensors.map((t, k) => (t.dtype === 'float32' ? k : -1)).filter((k) => k >= 0);
    const weights = outs.map((t, k) => tf.tensor(values({ shape: t.shape }, 900 + k), t.shape));
    const loss = (...xs: tf.Tensor[]) => {
      const ts = tensors.slice();
      floatIdx.forEach((k, j) => { ts[k] = xs[j]; });
      const os = call(ts);
      return tf.addN(os.map((o, k) => tf.sum(tf.mul(o.dtype === 'float32' ? o : tf.cast(o, 'float32'), weights[k])))) as tf.Scalar;
    };
    const grads = tf.grads(loss)(floatIdx.map((k) => tensors[k]));
    result = { out, grads: grads.map((g) => Array.from(g.dataSync())) };
  });
  return result!;
}

/** Elementwise |a - b| <= tol * (1 + |b|), NaN where and only where expected, infinities equal. */
function assertClose(actual: number[], expected: number[], what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k], e = expected[k];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      assert.ok(Number.isNaN(a) && Number.isNaN(e), `${what}[${k}]: native ${a}, cpu ${e}`);
    } else if (!Number.isFinite(e) || !Number.isFinite(a)) {
      assert.equal(a, e, `${what}[${k}]`);
    } else {
      assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${what}[${k}]: native ${a}, cpu ${e}`);
    }
  }
}

/**
 * <forward(x), dy> = <x, grad(dy)>: the gradient kernel is the adjoint of the (linear) forward
 * kernel, checked on native with the case's inputs.
 */
function assertAdjoint(name: string, c: Case, what: string): void {
  const inputs = c.inputs as Record<string, Spec>;
  tf.tidy(() => {
    const dy = tf.tensor(values(inputs.dy, 101), inputs.dy.shape);
    const attrs = (c.attrs ?? {}) as tf.NamedAttrMap;
    let x: tf.Tensor, y: tf.Tensor, g: tf.Tensor;
    if (name.endsWith('BackpropFilter')) {
      // Linear in the filter: <conv(input, W), dy> = <W, filterGrad(input, dy)>.
      const input = tf.tensor(values(inputs.x, 100), inputs.x.shape);
      x = tf.tensor(values({ shape: attrs.filterShape as number[] }, 102), attrs.filterShape as number[]);
      y = tf.engine().runKernel(c.adjointOf!, { x: input, filter: x }, attrs) as tf.Tensor;
      g = tf.engine().runKernel(name, { x: input, dy }, attrs) as tf.Tensor;
    } else {
      const xKey = 'images' in inputs ? 'images' : 'input';
      x = tf.tensor(values(inputs[xKey], 100), inputs[xKey].shape);
      y = tf.engine().runKernel(c.adjointOf!, xKey === 'images' ? { images: x } : { x }, attrs) as tf.Tensor;
      g = tf.engine().runKernel(name, xKey === 'images' ? { images: x, dy } : { dy, input: x, output: y }, attrs) as tf.Tensor;
    }
    assert.deepEqual(g.shape, x.shape, `${what}: gradient shape`);
    const lhs = tf.sum(tf.mul(y, dy)).dataSync()[0];
    const rhs = tf.sum(tf.mul(x, g)).dataSync()[0];
    assert.ok(Math.abs(lhs - rhs) <= 1e-4 * (1 + Math.abs(lhs)), `${what}: <F x, dy> = ${lhs} but <x, F* dy> = ${rhs}`);
  });
}

test('Select with a rank-1 condition picks whole rows on native (TensorFlow semantics)', { skip: nativeAvailability().ok ? false : 'native backend unavailable' }, async () => {
  // tf.where broadcasts its condition before the kernel runs; a direct rank-1 call selects rows,
  // which tfjs's cpu kernel gets wrong (it repeats single elements), so native is checked against
  // the broadcast form instead.
  await tf.setBackend('native');
  tf.tidy(() => {
    const condition = tf.tensor1d([1, 0, 1], 'bool');
    const t = tf.tensor(values(f([3, 2, 2]), 1), [3, 2, 2]);
    const e = tf.tensor(values(f([3, 2, 2]), 2), [3, 2, 2]);
    const rows = tf.engine().runKernel('Select', { condition, t, e }) as tf.Tensor;
    const broadcast = tf.where(tf.broadcastTo(tf.reshape(condition, [3, 1, 1]), [3, 2, 2]), t, e);
    assert.deepEqual(Array.from(rows.dataSync()), Array.from(broadcast.dataSync()));
  });
});

const native = nativeAvailability();
const skip = native.ok ? false : `native backend unavailable: ${native.reason}`;
const nativeKernels = () => tf.getKernelsForBackend('native').map((k) => k.kernelName).filter((k) => !(Object.values(FUSED) as string[]).includes(k));

describe('native backend parity with tfjs cpu', { skip }, () => {
  test('every registered native kernel has parity cases', () => {
    const missing = nativeKernels().filter((k) => CASES[k] === undefined);
    assert.deepEqual(missing, []);
  });

  for (const name of Object.keys(CASES)) {
    test(name, async () => {
      assert.ok(nativeKernels().includes(name), `${name} has cases but is not registered on native`);
      const hasGrad = tf.getGradient(name) !== undefined;
      for (const c of CASES[name]) {
        const what = `${name}${c.label ? ` (${c.label})` : ''}`;
        await tf.setBackend('native');
        if (c.adjointOf) {
          assertAdjoint(name, c, what);
          continue;
        }
        const specs = isList(c.inputs) ? c.inputs : Object.values(c.inputs);
        const withGrad = (c.grad ?? true) && hasGrad && specs.some((s) => (s.dtype ?? 'float32') === 'float32');
        // Forward, then gradients. Where tfjs itself refuses (its gradients of broadcast Maximum or
        // of dilated convolutions, ...), native must refuse too, not return something.
        for (const grad of withGrad ? [false, true] : [false]) {
          const part = `${what}${grad ? ' gradient' : ''}`;
          await tf.setBackend('cpu');
          let expected: ReturnType<typeof runCase>;
          try {
            expected = runCase(name, c, grad);
          } catch (err) {
            await tf.setBackend('native');
            assert.throws(() => runCase(name, c, grad), `${part}: cpu throws (${(err as Error).message.slice(0, 80)}) but native does not`);
            continue;
          }
          await tf.setBackend('native');
          const before = tf.memory().numTensors;
          const actual = runCase(name, c, grad);
          assert.equal(tf.memory().numTensors, before, `${part}: tensors leaked`);
          assert.deepEqual(actual.out.shapes, expected.out.shapes, `${part}: shapes`);
          assert.deepEqual(actual.out.dtypes, expected.out.dtypes, `${part}: dtypes`);
          actual.out.values.forEach((v, k) => assertClose(v, expected.out.values[k], `${part} output ${k}`));
          actual.grads?.forEach((g, k) => assertClose(g, expected.grads![k], `${part} ${k}`, 1e-3));
        }
      }
    });
  }
});
