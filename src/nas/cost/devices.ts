import { KilnError } from '../../core/index.js';
import { median } from '../../math/index.js';
import type { BenchmarkTable } from '../table.js';
import type { CostModel } from './types.js';

/**
 * Metrics over a set of devices (Chu et al. 2020, "multi-hardware mobile models"). Each device
 * d has a latency column `latency_ms_<d>` in the table. Latencies are normalized per device by
 * that device's reference, the median latency of all cells in the table, so every device
 * counts equally whatever its speed:
 *
 *   n_d(a)          = latency_d(a) / median over the table's cells of latency_d
 *   avg_latency(a)  = (1/|D|) * sum over d in D of n_d(a)      (average case)
 *   worst_latency(a) = max over d in D of n_d(a)               (worst case)
 *
 * A value of 1 is "as fast as the table's median cell"; `worst_latency(...)<=1.2` asks for a
 * cell at most 20% slower than the median cell on every device of the set. Metric names
 * carry the device list, e.g. `worst_latency(pixel3,raspi4,gold_6226)`, so a study's stored
 * constraints say exactly what they mean.
 */
export const DEVICE_AGGREGATES = {
  avg_latency: (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length,
  worst_latency: (xs: readonly number[]) => Math.max(...xs),
} as const;
export type DeviceAggregate = keyof typeof DEVICE_AGGREGATES;

const METRIC = /^(avg_latency|worst_latency)\(([^()]*)\)$/;

/** Whether `name` is a device-set metric such as `worst_latency(pixel3,raspi4)`. */
export function isDeviceSetMetric(name: string): boolean {
  return METRIC.test(name);
}

/** The metric name for an aggregate over devices: `deviceSetMetric('worst_latency', ['a','b'])` = 'worst_latency(a,b)'. */
export function deviceSetMetric(aggregate: DeviceAggregate, devices: readonly string[]): string {
  return `${aggregate}(${devices.join(',')})`;
}

/** Devices with a `latency_ms_<device>` column in the table. */
export function tableDevices(table: BenchmarkTable): string[] {
  return table.columns.filter((c) => c.startsWith('latency_ms_')).map((c) => c.slice('latency_ms_'.length));
}

/** Per-device reference latencies (the table's median cell per device). */
export function deviceReferences(table: BenchmarkTable, devices: readonly string[]): Record<string, number> {
  const known = tableDevices(table);
  return Object.fromEntries(devices.map((d) => {
    if (!known.includes(d)) {
      throw new KilnError(`device '${d}' has no latency_ms_${d} column in ${table.source} (devices: ${known.join(', ') || 'none'})`);
    }
    return [d, median(table.column(`latency_ms_${d}`))];
  }));
}

/** The cost model of a device-set metric name; KilnError on unknown devices or a malformed name. */
export function deviceSetCost(name: string, table: BenchmarkTable | undefined): CostModel {
  const m = METRIC.exec(name);
  if (!m) throw new KilnError(`'${name}' is not a device-set metric (expected avg_latency(DEV,...) or worst_latency(DEV,...))`);
  if (!table) throw new KilnError(`metric '${name}' needs a benchmark table with latency_ms_<device> columns`);
  const aggregate = m[1] as DeviceAggregate;
  const devices = m[2].split(',').map((d) => d.trim()).filter(Boolean);
  if (devices.length === 0) throw new KilnError(`metric '${name}' names no device (devices: ${tableDevices(table).join(', ')})`);
  if (new Set(devices).size !== devices.length) throw new KilnError(`metric '${name}' names a device twice`);
  const refs = deviceReferences(table, devices);
  const columns = devices.map((d) => table.column(`latency_ms_${d}`));
  const reduce = DEVICE_AGGREGATES[aggregate];
  return {
    name,
    metric: aggregate,
    device: devices.join(','),
    cost(a) {
      const row = table.rowOf(a);
      if (row < 0) throw new KilnError(`architecture is not in table ${table.source}, so its '${name}' is unknown`);
      return reduce(columns.map((col, i) => col[row] / refs[devices[i]]));
    },
  };
}
