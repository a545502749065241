import type * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../addon.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { fusedKernels } from './fused.js';
import { hostKernels } from './host.js';
import { imageKernels } from './image.js';
import { linalgKernels } from './linalg.js';
import { reduceKernels } from './reduce.js';
import { shapeKernels } from './shape.js';

/** Every kernel of the native backend. */
export function nativeKernels(addon: NativeAddon): tf.KernelConfig[] {
  return [
    ...elementwiseKernels(addon),
    ...reduceKernels(),
    ...linalgKernels(),
    ...convKernels(),
    ...shapeKernels(),
    ...imageKernels(),
    ...hostKernels(),
    ...fusedKernels(),
  ];
}
