import { KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import { convertLayer, type LayerHandlers } from '../../nn/index.js';
import { measureDevices, type LatencyDevice } from './devices.js';
import type { LatencyOptions } from './runtimes.js';

/**
 * Per-op latency lookup tables. A model is cut into ops (one per computing layer, with its input
 * and output shapes and settings); each distinct op is measured alone, on every device, as a
 * one-layer model; an architecture's predicted latency is the sum of its ops' entries plus the
 * runtime's fixed cost (a model that only copies its input).
 */

const op = () => true;
const free = () => false;
/** Whether a layer is an op of its own: the input and inference-time dropout cost nothing. */
const COSTED: LayerHandlers<[], boolean> = {
  input: free, dropout: free,
  dense: op, conv2d: op, depthwise: op, batchnorm: op, activation: op, maxpool: op, avgpool: op, globalmaxpool: op,
  globalavgpool: op, flatten: op, reshape: op, zeropad: op, add: op, concat: op,
};
/** Config fields that do not change the computation (names, initializers, constraints). */
const IGNORED = /name|initializer|regularizer|constraint|trainable|dtype|batchInputShape/i;

export interface LatencyOp {
  key: string;
  className: string;
  config: tf.serialization.ConfigDict;
  inputShapes: number[][];
}

const shapeOf = (s: tf.SymbolicTensor) => s.shape.slice(1) as number[];

/** The computing layers of `model` as ops with a stable text key. */
export function modelOps(model: tf.LayersModel): LatencyOp[] {
  const ops: LatencyOp[] = [];
  for (const layer of model.layers) {
    if (!convertLayer('latency lookup', COSTED, layer)) continue;
    const input = layer.input;
    const inputShapes = (Array.isArray(input) ? input : [input]).map(shapeOf);
    const config = Object.fromEntries(Object.entries(layer.getConfig()).filter(([k]) => !IGNORED.test(k)));
    const key = `${layer.getClassName()}${JSON.stringify(config)}@${inputShapes.map((s) => s.join('x')).join('+')}`;
    ops.push({ key, className: layer.getClassName(), config, inputShapes });
  }
  return ops;
}

/** A new layer of the op's class and settings (fresh weights). */
function freshLayer(op: LatencyOp): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[op.className];
  if (!entry) throw new KilnError(`latency lookup: unknown layer class ${op.className}`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, { ...op.config }) as unknown as tf.layers.Layer;
}

/** A model made of `op` alone (random weights: timing does not depend on their values). */
export function opModel(op: LatencyOp): tf.LayersModel {
  const layer = freshLayer(op);
  const inputs = op.inputShapes.map((shape) => tf.input({ shape }));
  const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs) as tf.SymbolicTensor;
  return tf.model({ inputs: inputs.length === 1 ? inputs[0] : inputs, outputs: out });
}

/** The fixed cost of running any model: one that only passes its input through. */
export function overheadModel(inputShape: number[]): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  return tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'linear' }).apply(input) as tf.SymbolicTensor });
}

/** Measured ms per op key and device, plus the per-device overhead under the key '@overhead'. */
export type LookupTable = Record<string, Record<string, number>>;

/** Timing settings of each op measurement (warm-up runs, repeats, median or min). */
export type LookupOptions = Omit<LatencyOptions, 'batch'>;

/** Measures every op of `models` not yet in `table` (single-input ops with multiple inputs are built as such). */
export async function extendLookupTable(table: LookupTable, models: readonly tf.LayersModel[], devices: readonly LatencyDevice[], opts: LookupOptions = {}): Promise<LookupTable> {
  for (const model of models) {
    const overheadKey = `@overhead@${(model.inputs[0].shape.slice(1) as number[]).join('x')}`;
    if (!table[overheadKey]) {
      const m = overheadModel(model.inputs[0].shape.slice(1) as number[]);
      table[overheadKey] = await measureDevices(m, devices, opts);
      m.dispose();
    }
    for (const op of modelOps(model)) {
      if (table[op.key]) continue;
      if (op.inputShapes.length !== 1) {
        // Multi-input ops (Add) are measured as the sum's cost over a one-input model: x + x.
        const input = tf.input({ shape: op.inputShapes[0] });
        const layer = freshLayer(op);
        const m = tf.model({ inputs: input, outputs: layer.apply(op.inputShapes.map(() => input)) as tf.SymbolicTensor });
        table[op.key] = await measureDevices(m, devices, opts);
        m.dispose();
        continue;
      }
      const m = opModel(op);
      // Each one-op model pays the runtime's fixed cost once; the prediction adds it back once per model.
      const raw = await measureDevices(m, devices, opts);
      table[op.key] = Object.fromEntries(Object.entries(raw).map(([d, v]) => [d, Math.max(0, v - table[overheadKey][d])]));
      m.dispose();
    }
  }
  return table;
}

/** Lookup-table latency of `model` on `device`: overhead plus the sum of its ops. */
export function lookupLatency(table: LookupTable, model: tf.LayersModel, device: string): number {
  const overheadKey = `@overhead@${(model.inputs[0].shape.slice(1) as number[]).join('x')}`;
  let total = table[overheadKey]?.[device];
  if (total === undefined) throw new KilnError(`latency lookup table has no overhead entry for this input on ${device}`);
  for (const op of modelOps(model)) {
    const v = table[op.key]?.[device];
    if (v === undefined) throw new KilnError(`latency lookup table has no entry for op ${op.key} on ${device}`);
    total += v;
  }
  return total;
}
