import { KilnError } from '../../core/index.js';
import type { tf } from '../../backend/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import { measureLatency, type LatencyOptions } from './runtimes.js';

/**
 * A latency "device" is a runtime at a batch size: tfjs_b1, ort_b32, ... A device set of these
 * feeds the multi-hardware metrics (src/nas/devices.ts) through an ordinary benchmark table with
 * one `latency_ms_<device>` column per device.
 */
export interface LatencyDevice {
  name: string;
  runtime: string;
  batch: number;
}

export function latencyDevice(runtime: string, batch: number): LatencyDevice {
  return { name: `${runtime}_b${batch}`, runtime, batch };
}

/** tfjs-wasm and onnxruntime-node at batch 1 and 32. */
export const DEFAULT_DEVICES: readonly LatencyDevice[] = [
  latencyDevice('tfjs', 1), latencyDevice('ort', 1), latencyDevice('tfjs', 32), latencyDevice('ort', 32),
];

/** Parses 'tfjs:1,ort:32' into devices. */
export function parseDevices(spec: string): LatencyDevice[] {
  return spec.split(',').map((part) => {
    const m = /^\s*(\w+):(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1) throw new KilnError(`malformed device '${part}' (expected RUNTIME:BATCH, e.g. ort:1)`);
    return latencyDevice(m[1], Number(m[2]));
  });
}

/** Median latency in ms of `model` on every device. */
export async function measureDevices(model: tf.LayersModel, devices: readonly LatencyDevice[], opts: Omit<LatencyOptions, 'batch'> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of devices) out[d.name] = await measureLatency(model, d.runtime, { ...opts, batch: d.batch });
  return out;
}

/** A benchmark-table CSV (arch, latency_ms_<device>...) of measured architectures, for tableFromCsv. */
export function latencyTableCsv(space: SearchSpace, rows: readonly { arch: Architecture; latency: Record<string, number> }[], devices: readonly LatencyDevice[]): string {
  const header = ['arch', ...devices.map((d) => `latency_ms_${d.name}`)].join(',');
  const lines = rows.map((r) => [space.toString(r.arch), ...devices.map((d) => r.latency[d.name].toFixed(5))].join(','));
  return [header, ...lines].join('\n') + '\n';
}
