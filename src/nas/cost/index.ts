/**
 * What an architecture costs: cost models (table columns, computed costs), device-set metrics
 * over several devices, hard constraints over them, and latency predictors fitted on real
 * runtimes (../latency: per-op lookup tables and the linear cost model a search calls every step).
 */
export type { CostModel, CostContext, CostModelFactory, MetricKind } from './types.js';
export { costModels, resolveCostModel, tableColumnCost, columnKind, nb201ParamCount, nb201Classes, NB201_DATASETS } from './models.js';
export {
  parseConstraints, formatConstraint, satisfies, createConstraintSet, type ComparisonOp, type Constraint, type ConstraintSet,
} from './constraints.js';
export {
  DEVICE_AGGREGATES, deviceSetCost, deviceSetMetric, deviceReferences, isDeviceSetMetric, tableDevices, type DeviceAggregate,
} from './devices.js';
export * from '../latency/index.js';
