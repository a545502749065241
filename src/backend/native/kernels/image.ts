import * as tf from '@tensorflow/tfjs';
import { input, nativeKernel } from './util.js';

/** Source size over output size along one axis, as tfjs computes it for align-corners. */
function scale(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

/** For each output row: the two source rows and the weight of the second (tfjs's bilinear formulas). */
function bilinearTable(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean) {
  const s = scale(inSize, outSize, alignCorners);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  for (let r = 0; r < outSize; r++) {
    const src = halfPixelCenters ? s * (r + 0.5) - 0.5 : s * r;
    lo[r] = Math.max(0, Math.floor(src));
    hi[r] = Math.min(inSize - 1, Math.ceil(src));
    frac[r] = src - lo[r];
  }
  return [lo, hi, frac] as const;
}

/** For each output row: the source row (tfjs's nearest-neighbour formulas). */
function nearestTable(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const s = scale(inSize, outSize, alignCorners);
  const rows = new Int32Array(outSize);
  for (let r = 0; r < outSize; r++) {
    const src = halfPixelCenters ? s * (r + 0.5) : s * r;
    const nearest = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
    rows[r] = halfPixelCenters ? Math.max(0, nearest) : nearest;
  }
  return rows;
}

type ResizeAttrs = tf.ResizeBilinearAttrs;

export function imageKernels(): tf.KernelConfig[] {
  return [
    nativeKernel<ResizeAttrs>('ResizeBilinear', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'images');
      const [outH, outW] = attrs.size;
      return b.output(b.addon.resizeBilinear(b.slot(x), ...bilinearTable(x.shape[1], outH, attrs.alignCorners, attrs.halfPixelCenters),
        ...bilinearTable(x.shape[2], outW, attrs.alignCorners, attrs.halfPixelCenters)));
    }),
    // The exact adjoint of ResizeBilinear (tfjs's cpu gradient ignores halfPixelCenters).
    nativeKernel<ResizeAttrs>('ResizeBilinearGrad', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'images');
      const dy = input(inputs, 'dy');
      const [inH, inW] = [x.shape[1], x.shape[2]];
      return b.output(b.addon.resizeBilinearGrad(b.slot(dy), inH, inW,
        ...bilinearTable(inH, dy.shape[1], attrs.alignCorners, attrs.halfPixelCenters),
        ...bilinearTable(inW, dy.shape[2], attrs.alignCorners, attrs.halfPixelCenters)));
    }),
    nativeKernel<ResizeAttrs>('ResizeNearestNeighbor', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'images');
      const [outH, outW] = attrs.size;
      return b.output(b.addon.resizeNearest(b.slot(x), nearestTable(x.shape[1], outH, attrs.alignCorners, attrs.halfPixelCenters),
        nearestTable(x.shape[2], outW, attrs.alignCorners, attrs.halfPixelCenters)));
    }),
    nativeKernel<ResizeAttrs>('ResizeNearestNeighborGrad', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'images');
      const dy = input(inputs, 'dy');
      const [inH, inW] = [x.shape[1], x.shape[2]];
      return b.output(b.addon.resizeNearestGrad(b.slot(dy), inH, inW,
        nearestTable(inH, dy.shape[1], attrs.alignCorners, attrs.halfPixelCenters),
        nearestTable(inW, dy.shape[2], attrs.alignCorners, attrs.halfPixelCenters)));
    }),
    nativeKernel('FlipLeftRight', ({ inputs, b }) => b.output(b.addon.flipLeftRight(b.slot(input(inputs, 'image'))))),
  ];
}
