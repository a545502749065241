import * as tf from '@tensorflow/tfjs';

/** What a kernel function receives, with the inputs it requires present. */
export interface KernelArgs<I extends string> {
  inputs: Record<I, tf.TensorInfo>;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}

/**
 * Runs other kernels of one backend from inside a kernel function. Kernels cannot use tf ops
 * (those would be recorded on the gradient tape and tracked as user tensors), so composite
 * kernels call the backend's registered kernel functions directly and free every intermediate
 * through the backend's reference counting.
 */
export class KernelScope {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(
    readonly backend: tf.KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs `kernelName`; its output is freed by `dispose()` unless it is the kernel's result. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: object = {}): tf.TensorInfo {
    const out = tf.getKernel(kernelName, this.backendName).kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: this.backend,
      attrs: attrs as tf.NamedAttrMap,
    }) as tf.TensorInfo;
    return this.track(out);
  }

  /** Frees `t` with the other intermediates (for outputs of kernels called outside `run`). */
  track(t: tf.TensorInfo): tf.TensorInfo {
    this.temps.push(t);
    return t;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Zero padding; `pads` is [before, after] per axis. */
  pad(x: tf.TensorInfo, pads: [number, number][]): tf.TensorInfo {
    if (pads.every(([b, a]) => b === 0 && a === 0)) return x;
    return this.run('PadV2', { x }, { paddings: pads, constantValue: 0 });
  }

  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    if (size.every((n, i) => n === x.shape[i])) return x;
    return this.run('Slice', { x }, { begin, size });
  }

  /** Frees every intermediate except `result` (which the caller hands to the engine). */
  finish(result: tf.TensorInfo): tf.TensorInfo {
    for (const t of this.temps) {
      if (t !== result) this.backend.disposeData(t.dataId);
    }
    this.temps.length = 0;
    return result;
  }
}
