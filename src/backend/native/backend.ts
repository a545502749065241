import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';

type DataId = object;
type Values = Float32Array | Int32Array | Uint8Array;

/** dtype codes shared with the addon (native/src/kiln.h). */
const DTYPES: readonly tf.DataType[] = ['float32', 'int32', 'bool'];
const CODES: Partial<Record<tf.DataType, number>> = { float32: 0, int32: 1, bool: 2 };

interface Entry {
  slot: number;
  refCount: number;
}

export function dtypeCode(dtype: tf.DataType): number {
  const code = CODES[dtype];
  if (code === undefined) throw new Error(`the native backend does not support ${dtype} tensors`);
  return code;
}

/**
 * A tfjs backend whose tensors live in libtorch memory. A dataId maps to a slot of the addon's
 * table; kernels pass slots to the addon and wrap the result slot it returns. Values cross to
 * JavaScript only when read.
 */
export class NativeBackend extends tf.KernelBackend {
  private readonly data = new WeakMap<DataId, Entry>();
  private entries = 0;
  /** The addon describes each single result here: [dtype, rank, dim0, ..., dim7]. */
  private readonly meta = new Int32Array(10);

  constructor(readonly addon: NativeAddon) {
    super();
    addon.init(this.meta);
  }

  /** The addon slot of a tensor, moving it here first when another backend holds it. */
  slot(t: tf.TensorInfo): number {
    let e = this.data.get(t.dataId);
    if (e === undefined) {
      tf.engine().moveData(this, t.dataId);
      e = this.data.get(t.dataId);
      if (e === undefined) throw new Error('native backend: tensor data not found');
    }
    return e.slot;
  }

  /** Wraps the slot returned by a single-result op, with the dtype and shape the addon wrote. */
  output(slot: number): tf.TensorInfo {
    const m = this.meta;
    const rank = m[1];
    const shape = new Array<number>(rank);
    for (let i = 0; i < rank; i++) shape[i] = m[2 + i];
    return { dataId: this.adopt(slot, 1), shape, dtype: DTYPES[m[0]] };
  }

  /** Wraps the slots returned by a multi-result op. */
  outputs(slots: number[]): tf.TensorInfo[] {
    return slots.map((slot) => {
      this.addon.describe(slot);
      return this.output(slot);
    });
  }

  private adopt(slot: number, refCount: number): DataId {
    const dataId = {};
    this.data.set(dataId, { slot, refCount });
    this.entries++;
    return dataId;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): DataId {
    return this.adopt(this.writeSlot(values, shape, dtype), 1);
  }

  private writeSlot(values: tf.backend_util.BackendValues | null, shape: number[], dtype: tf.DataType): number {
    const code = dtypeCode(dtype);
    const size = shape.reduce((a, b) => a * b, 1);
    let v = values as Values | null;
    if (v === null) v = dtype === 'float32' ? new Float32Array(size) : dtype === 'int32' ? new Int32Array(size) : new Uint8Array(size);
    else if (dtype === 'float32' && !(v instanceof Float32Array)) v = Float32Array.from(v as ArrayLike<number>);
    else if (dtype === 'int32' && !(v instanceof Int32Array)) v = Int32Array.from(v as ArrayLike<number>);
    else if (dtype === 'bool' && !(v instanceof Uint8Array)) v = Uint8Array.from(v as ArrayLike<number>);
    return this.addon.write(v, shape, code);
  }

  override move(dataId: DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.data.set(dataId, { slot: this.writeSlot(values, shape, dtype), refCount });
    this.entries++;
  }

  /** A new tensor from host values (for kernels computed on the host). */
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo {
    return { dataId: this.write(values, shape, dtype), shape, dtype };
  }

  override refCount(dataId: DataId): number {
    return this.data.get(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: DataId): void {
    const e = this.data.get(dataId);
    if (e) e.refCount++;
  }

  override numDataIds(): number {
    return this.entries;
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    const e = this.data.get(dataId);
    if (e === undefined) throw new Error('native backend: reading a tensor it does not hold');
    return this.addon.read(e.slot);
  }

  override async read(dataId: DataId): Promise<tf.backend_util.BackendValues> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const e = this.data.get(dataId);
    if (e === undefined) return true;
    e.refCount--;
    if (!force && e.refCount > 0) return false;
    this.addon.dispose(e.slot);
    this.data.delete(dataId);
    this.entries--;
    return true;
  }

  /** Frees an intermediate result a kernel made and does not return. */
  disposeIntermediateTensorInfo(t: tf.TensorInfo): void {
    this.disposeData(t.dataId);
  }

  override memory(): { unreliable: boolean; numNativeTensors: number; numNativeBytes: number } {
    const [tensors, bytes] = this.addon.stats();
    return { unreliable: false, numNativeTensors: tensors, numNativeBytes: bytes };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const start = performance.now();
    f();
    return { kernelMs: performance.now() - start };
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }

  override epsilon(): number {
    return super.epsilon();
  }

  override dispose(): void {}

}
