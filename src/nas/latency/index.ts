/** Latency of standalone architectures on real runtimes, per-op lookup tables and a linear cost model. */
export {
  runtimes, measureLatency, measureRunner, onnxSession, inputShapeOf,
  type Runtime, type Runner, type LatencyOptions,
} from './runtimes.js';
export { latencyDevice, parseDevices, measureDevices, latencyTableCsv, DEFAULT_DEVICES, type LatencyDevice } from './devices.js';
export { modelOps, opModel, overheadModel, extendLookupTable, lookupLatency, type LatencyOp, type LookupTable, type LookupOptions } from './lookup.js';
export { fitLinear, predictLinear, predictionError, type LinearModel } from './linear.js';
export {
  fitLatencyModel, linearLatencyCost, loadLookupTable, saveLookupTable, type LatencyCostModel, type LatencyModelOptions,
} from './cost-model.js';
