import type { Architecture, SearchSpace } from '../space/index.js';
import type { BenchmarkTable } from '../table.js';

export type MetricKind = 'cost' | 'outcome';

/** One cost of an architecture: `metric` on `device` (no device for device-free costs such as params). */
export interface CostModel {
  /** The key under which trials record this cost (a table column, 'params'). */
  readonly name: string;
  readonly metric: string;
  readonly device?: string;
  /**
   * 'cost' (the default): known before training (latency, params, FLOPs), so a constraint on it is checked
   * for free before evaluating. 'outcome': known only after training (accuracy), so a constraint on it is
   * checked on the evaluation's metrics and the evaluation is paid for; `cost` is then never called.
   */
  readonly kind?: MetricKind;
  cost(a: Architecture): number;
}

export interface CostContext {
  space: SearchSpace;
  table?: BenchmarkTable;
  /** Costs the caller computes itself (a supernet's params or MFLOPs); they win over same-named ones. */
  models?: readonly CostModel[];
}

export type CostModelFactory = (ctx: CostContext) => CostModel;
