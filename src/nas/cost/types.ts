import type { Architecture, SearchSpace } from '../space/index.js';
import type { BenchmarkTable } from '../table.js';

/** One cost of an architecture: `metric` on `device` (no device for device-free costs such as params). */
export interface CostModel {
  /** The key under which trials record this cost (a table column, 'params'). */
  readonly name: string;
  readonly metric: string;
  readonly device?: string;
  cost(a: Architecture): number;
}

export interface CostContext {
  space: SearchSpace;
  table?: BenchmarkTable;
  /** Costs the caller computes itself (a supernet's params or MFLOPs); they win over same-named ones. */
  models?: readonly CostModel[];
}

export type CostModelFactory = (ctx: CostContext) => CostModel;
