import * as tf from '@tensorflow/tfjs';
import type { NativeBackend } from '../backend.js';
import { dtypeCode } from '../backend.js';
import { axes, input, nativeKernel } from './util.js';

const list = (inputs: tf.NamedTensorInfoMap) => inputs as unknown as tf.TensorInfo[];
const flatPairs = (pairs: Array<[number, number]>) => pairs.flatMap(([a, z]) => [a, z]);

/** A copy of `x` under a new dataId: what a kernel returns when tfjs's result is its input. */
function same(b: NativeBackend, x: tf.TensorInfo): tf.TensorInfo {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function shapeKernels(): tf.KernelConfig[] {
  return [
    nativeKernel<tf.ReshapeAttrs>('Reshape', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const shape = tf.util.inferFromImplicitShape(attrs.shape, tf.util.sizeFromShape(x.shape));
      return b.output(b.addon.reshape(b.slot(x), shape));
    }),
    nativeKernel<tf.TransposeAttrs>('Transpose', ({ inputs, attrs, b }) => b.output(b.addon.transpose(b.slot(input(inputs, 'x')), attrs.perm))),
    nativeKernel<tf.ExpandDimsAttrs>('ExpandDims', ({ inputs, attrs, b }) => b.output(b.addon.expandDims(b.slot(input(inputs, 'input')), attrs.dim))),
    nativeKernel<tf.SliceAttrs>('Slice', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
      tf.slice_util.assertParamsValid(x, begin, size);
      return b.output(b.addon.slice(b.slot(x), begin, size));
    }),
    nativeKernel<tf.StridedSliceAttrs>('StridedSlice', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const info = tf.slice_util.sliceInfo(x.shape, attrs.begin, attrs.end, attrs.strides, attrs.beginMask, attrs.endMask,
        attrs.ellipsisMask, attrs.newAxisMask, attrs.shrinkAxisMask);
      if (info.isIdentity) return b.output(b.addon.reshape(b.slot(x), info.finalShape));
      // Elements per input axis; finalShape then drops shrunk axes and adds new ones.
      const counts = tf.slice_util.computeOutShape(info.begin, info.end, info.strides).map((n) => Math.max(0, n));
      return b.output(b.addon.stridedSlice(b.slot(x), info.begin, info.strides, counts, info.finalShape));
    }),
    nativeKernel<tf.ConcatAttrs>('Concat', ({ inputs, attrs, b }) => {
      const xs = list(inputs);
      const axis = tf.util.parseAxisParam(attrs.axis, xs[0].shape)[0];
      tf.backend_util.assertParamsConsistent(xs.map((t) => t.shape), axis);
      const nonEmpty = xs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
      if (nonEmpty.length === 0) {
        const shape = tf.backend_util.computeOutShape(xs.map((t) => t.shape), axis);
        return b.output(b.addon.fill(shape, 0, dtypeCode(xs[0].dtype)));
      }
      if (nonEmpty.length === 1) return same(b, nonEmpty[0]);
      return b.output(b.addon.concat(nonEmpty.map((t) => b.slot(t)), axis));
    }),
    nativeKernel<tf.PackAttrs>('Pack', ({ inputs, attrs, b }) => {
      const xs = list(inputs);
      const axis = attrs.axis < 0 ? attrs.axis + xs[0].shape.length + 1 : attrs.axis;
      return b.output(b.addon.stack(xs.map((t) => b.slot(t)), axis));
    }),
    nativeKernel<tf.UnpackAttrs>('Unpack', ({ inputs, attrs, b }) => b.outputs(b.addon.unstack(b.slot(input(inputs, 'value')), attrs.axis))),
    nativeKernel<tf.SplitVAttrs>('SplitV', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
      return b.outputs(b.addon.split(b.slot(x), sizes, axis));
    }),
    nativeKernel<tf.PadV2Attrs>('PadV2', ({ inputs, attrs, b }) =>
      b.output(b.addon.pad(b.slot(input(inputs, 'x')), flatPairs(attrs.paddings), attrs.constantValue))),
    nativeKernel<tf.MirrorPadAttrs>('MirrorPad', ({ inputs, attrs, b }) =>
      b.output(b.addon.mirrorPad(b.slot(input(inputs, 'x')), flatPairs(attrs.paddings), attrs.mode === 'symmetric'))),
    nativeKernel<tf.TileAttrs>('Tile', ({ inputs, attrs, b }) => b.output(b.addon.tile(b.slot(input(inputs, 'x')), attrs.reps))),
    nativeKernel<tf.ReverseAttrs>('Reverse', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      return b.output(b.addon.reverse(b.slot(x), axes(attrs.dims, x.shape)));
    }),
    nativeKernel<tf.GatherV2Attrs>('GatherV2', ({ inputs, attrs, b }) => {
      const x = input(inputs, 'x');
      const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
      return b.output(b.addon.gather(b.slot(x), b.slot(input(inputs, 'indices')), axis, attrs.batchDims ?? 0));
    }),
    nativeKernel('GatherNd', ({ inputs, b }) => b.output(b.addon.gatherNd(b.slot(input(inputs, 'params')), b.slot(input(inputs, 'indices'))))),
    nativeKernel<tf.ScatterNdAttrs>('ScatterNd', ({ inputs, attrs, b }) =>
      b.output(b.addon.scatterNd(b.slot(input(inputs, 'indices')), b.slot(input(inputs, 'updates')), attrs.shape))),
    nativeKernel('TensorScatterUpdate', ({ inputs, b }) =>
      b.output(b.addon.tensorScatterUpdate(b.slot(input(inputs, 'tensor')), b.slot(input(inputs, 'indices')), b.slot(input(inputs, 'updates'))))),
    nativeKernel<tf.OneHotAttrs>('OneHot', ({ inputs, attrs, b }) =>
      b.output(b.addon.oneHot(b.slot(input(inputs, 'indices')), attrs.depth, attrs.onValue, attrs.offValue, dtypeCode(attrs.dtype)))),
    nativeKernel('Diag', ({ inputs, b }) => b.output(b.addon.diag(b.slot(input(inputs, 'x'))))),
    nativeKernel<tf.DepthToSpaceAttrs>('DepthToSpace', ({ inputs, attrs, b }) =>
      b.output(b.addon.depthToSpace(b.slot(input(inputs, 'x')), attrs.blockSize, attrs.dataFormat === 'NCHW'))),
    nativeKernel<tf.SpaceToBatchNDAttrs>('SpaceToBatchND', ({ inputs, attrs, b }) =>
      b.output(b.addon.spaceToBatchND(b.slot(input(inputs, 'x')), attrs.blockShape, attrs.paddings.flat()))),
    nativeKernel<tf.BatchToSpaceNDAttrs>('BatchToSpaceND', ({ inputs, attrs, b }) =>
      b.output(b.addon.batchToSpaceND(b.slot(input(inputs, 'x')), attrs.blockShape, attrs.crops.flat()))),
    nativeKernel<tf.SearchSortedAttrs>('SearchSorted', ({ inputs, attrs, b }) =>
      b.output(b.addon.searchSorted(b.slot(input(inputs, 'sortedSequence')), b.slot(input(inputs, 'values')), attrs.side === 'right'))),
  ];
}
