import { createRng } from '../core/index.js';
import { encodeModel } from '../nn/onnx/index.js';

/**
 * The tiny feature extractors committed as test fixtures (tools/build-storybench-onnx.mjs), written
 * through Kiln's one ONNX writer (src/nn/onnx); real evaluations load a user's own Inception / I3D /
 * CLIP export instead.
 */

// ---- the tiny feature models -------------------------------------------------------------------

function heWeights(rng: ReturnType<typeof createRng>, dims: number[]): Float32Array {
  const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
  const w = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * Math.sqrt(2 / fanIn);
  return w;
}

/**
 * Per-frame features: input `frames` `[N, H, W, 3]` RGB in [0, 1] -> `features` `[N, 19]`: the mean
 * colour (3) followed by 16 globally pooled channels of two random strided 3x3 convolutions.
 */
export function tinyFrameModel(seed = 1): Uint8Array {
  const rng = createRng(seed);
  return encodeModel({
    name: 'kiln-tiny-frame-features',
    inputs: [{ name: 'frames', shape: ['N', 'H', 'W', 3] }],
    outputs: [{ name: 'features', shape: ['N', 19] }],
    initializers: [
      { name: 'w1', dims: [8, 3, 3, 3], values: heWeights(rng, [8, 3, 3, 3]) },
      { name: 'b1', dims: [8], values: new Float32Array(8).fill(0.05) },
      { name: 'w2', dims: [16, 8, 3, 3], values: heWeights(rng, [16, 8, 3, 3]) },
      { name: 'b2', dims: [16], values: new Float32Array(16).fill(0.05) },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['frames'], outputs: ['x'], ints: { perm: [0, 3, 1, 2] } },
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], ints: { strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], ints: { strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['gx'] },
      { op: 'GlobalAveragePool', inputs: ['r2'], outputs: ['g2'] },
      { op: 'Flatten', inputs: ['gx'], outputs: ['fx'], int: { axis: 1 } },
      { op: 'Flatten', inputs: ['g2'], outputs: ['f2'], int: { axis: 1 } },
      { op: 'Concat', inputs: ['fx', 'f2'], outputs: ['features'], int: { axis: 1 } },
    ],
  });
}

/**
 * Per-video features: input `video` `[N, T, H, W, 3]` RGB in [0, 1] -> `features` `[N, 19]`: the mean
 * colour (3) followed by 16 pooled channels of two random spatio-temporal 3x3x3 convolutions.
 */
export function tinyVideoModel(seed = 2): Uint8Array {
  const rng = createRng(seed);
  const conv = { strides: [1, 2, 2], pads: [1, 1, 1, 1, 1, 1], kernel_shape: [3, 3, 3] };
  return encodeModel({
    name: 'kiln-tiny-video-features',
    inputs: [{ name: 'video', shape: ['N', 'T', 'H', 'W', 3] }],
    outputs: [{ name: 'features', shape: ['N', 19] }],
    initializers: [
      { name: 'w1', dims: [8, 3, 3, 3, 3], values: heWeights(rng, [8, 3, 3, 3, 3]) },
      { name: 'b1', dims: [8], values: new Float32Array(8).fill(0.05) },
      { name: 'w2', dims: [16, 8, 3, 3, 3], values: heWeights(rng, [16, 8, 3, 3, 3]) },
      { name: 'b2', dims: [16], values: new Float32Array(16).fill(0.05) },
    ],
    nodes: [
      { op: 'Transpose', inputs: ['video'], outputs: ['x'], ints: { perm: [0, 4, 1, 2, 3] } },
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], ints: conv },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], ints: conv },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['gx'] },
      { op: 'GlobalAveragePool', inputs: ['r2'], outputs: ['g2'] },
      { op: 'Flatten', inputs: ['gx'], outputs: ['fx'], int: { axis: 1 } },
      { op: 'Flatten', inputs: ['g2'], outputs: ['f2'], int: { axis: 1 } },
      { op: 'Concat', inputs: ['fx', 'f2'], outputs: ['features'], int: { axis: 1 } },
    ],
  });
}
