import fs from 'node:fs';
import { check, createRng, KilnError } from '../../core/index.js';
import type { tf } from '../../backend/index.js';
import { writeAtomic } from '../../nn/index.js';
import type { CostModel } from '../cost/types.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import type { LatencyDevice } from './devices.js';
import { fitLinear, predictionError, predictLinear, type LinearModel } from './linear.js';
import { extendLookupTable, lookupLatency, type LookupOptions, type LookupTable } from './lookup.js';
import { measureLatency } from './runtimes.js';

/**
 * A space's latency cost model on one device, the TuNAS way: every op that the space's children
 * use is measured once (per-op lookup table), the lookup-table latency of `samples` random
 * children is computed, and a ridge-regularized linear model on per-op features of the children
 * (default: the one-hot encoding of the choices) is fitted to it. With `fitTo: 'measured'` the
 * linear model is fitted to whole-model measurements of the same children instead, which
 * captures what per-op tables miss (op fusion in onnxruntime, per-call overheads). The linear
 * model is what the search calls every step (no model building, no measurement); `fitError`
 * says how far it is from the latencies it was fitted to.
 */
export interface LatencyCostModel {
  device: LatencyDevice;
  table: LookupTable;
  linear: LinearModel;
  fitTo: 'lookup' | 'measured';
  /** In-sample error of the linear model against the latencies it was fitted to. */
  fitError: { mape: number; maxApe: number };
  /** Fitted latencies of the sampled children (ms): the space's range on this device. */
  range: { min: number; max: number };
  /** `latency_ms_<device>` of any child, predicted by the linear model. */
  cost: CostModel;
}

export interface LatencyModelOptions extends LookupOptions {
  samples: number;
  seed: number;
  /** Entries measured before (e.g. loaded with `loadLookupTable`); extended in place. */
  table?: LookupTable;
  ridge?: number;
  /** Per-op features of a child (default: the space's one-hot encoding). */
  features?: (a: Architecture) => ArrayLike<number>;
  /** Fit to lookup-table sums (default) or to measured whole-model latencies. */
  fitTo?: 'lookup' | 'measured';
  onProgress?: (done: number, total: number) => void;
}

/** The linear model's prediction as a cost model on `latency_ms_<device>`. */
export function linearLatencyCost(features: (a: Architecture) => ArrayLike<number>, linear: LinearModel, device: LatencyDevice): CostModel {
  return {
    name: `latency_ms_${device.name}`,
    metric: 'latency_ms',
    device: device.name,
    cost: (a: Architecture) => predictLinear(linear, features(a)),
  };
}

/**
 * Fits the cost model. `build(a)` makes child `a` as a standalone LayersModel (weights do not
 * matter); the all-smallest and all-largest children are always among the samples so the fit
 * covers the space's extremes.
 */
export async function fitLatencyModel(space: SearchSpace, build: (a: Architecture) => tf.LayersModel, device: LatencyDevice,
  o: LatencyModelOptions): Promise<LatencyCostModel> {
  check(Number.isInteger(o.samples) && o.samples >= 2, `the latency model needs at least 2 sampled children (got ${o.samples})`);
  const rng = createRng(o.seed);
  const archs: Architecture[] = [
    { values: space.decisions.map(() => 0) },
    { values: space.decisions.map((d) => d.choices.length - 1) },
  ];
  while (archs.length < o.samples) archs.push(space.sample(rng));
  const table = o.table ?? {};
  const fitTo = o.fitTo ?? 'lookup';
  const latencies: number[] = [];
  for (const [i, a] of archs.entries()) {
    const model = build(a);
    try {
      if (fitTo === 'lookup') {
        await extendLookupTable(table, [model], [device], o);
        latencies.push(lookupLatency(table, model, device.name));
      } else {
        latencies.push(await measureLatency(model, device.runtime, { ...o, batch: device.batch }));
      }
    } finally {
      model.dispose();
    }
    o.onProgress?.(i + 1, archs.length);
  }
  const featuresOf = o.features ?? ((a: Architecture) => space.encode(a));
  const features = archs.map(featuresOf);
  const linear = fitLinear(features, latencies, o.ridge ?? 1e-3);
  const fitError = predictionError(features.map((x) => predictLinear(linear, x)), latencies);
  return {
    device, table, linear, fitTo, fitError,
    range: { min: Math.min(...latencies), max: Math.max(...latencies) },
    cost: linearLatencyCost(featuresOf, linear, device),
  };
}

/** A lookup table saved by `saveLookupTable`, or an empty one when the file does not exist. */
export function loadLookupTable(file: string): LookupTable {
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LookupTable;
  } catch (e) {
    throw new KilnError(`latency lookup table ${file} is not valid JSON (${(e as Error).message}); delete it to measure again`);
  }
}

export function saveLookupTable(file: string, table: LookupTable): void {
  writeAtomic(file, JSON.stringify(table));
}
