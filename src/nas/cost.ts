import { createRegistry, KilnError } from '../core/index.js';
import { nb201Ops, type Architecture, type SearchSpace } from './space/index.js';
import type { BenchmarkTable } from './table.js';
import type { TrialMetrics } from './evaluators.js';
import { deviceSetCost, isDeviceSetMetric } from './devices.js';

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
}

export type CostModelFactory = (ctx: CostContext) => CostModel;

/** Costs computed from the architecture itself; table columns need no registration. */
export const costModels = createRegistry<CostModelFactory>('cost model');

/** A table column as a cost; `latency_ms_<device>` columns name their device. */
export function tableColumnCost(table: BenchmarkTable, column: string): CostModel {
  const values = table.column(column);
  const m = /^(latency_ms)_(.+)$/.exec(column);
  return {
    name: column,
    metric: m ? m[1] : column,
    ...(m ? { device: m[2] } : {}),
    cost(a) {
      const row = table.rowOf(a);
      if (row < 0) throw new KilnError(`architecture is not in table ${table.source}, so its '${column}' is unknown`);
      return values[row];
    },
  };
}

// NAS-Bench-201's CIFAR network (xautodl TinyNetwork, C=16, N=5, 10 classes): a 3x3 stem,
// three stages of 5 cells at 16/32/64 channels joined by two residual reduction blocks,
// BN + ReLU, global pooling, a linear classifier. Convs have no bias; BN is affine.
const STAGE_CHANNELS = [16, 32, 64];
const CELLS_PER_STAGE = 5;
const CLASSES = 10;
const convBn = (cin: number, cout: number, k: number) => k * k * cin * cout + 2 * cout;
const resBlock = (cin: number, cout: number) => convBn(cin, cout, 3) + convBn(cout, cout, 3) + cin * cout;
const FIXED_PARAMS =
  convBn(3, 16, 3) + resBlock(16, 32) + resBlock(32, 64) + 2 * 64 + 64 * CLASSES + CLASSES;
const OP_PARAMS: Record<string, (c: number) => number> = {
  none: () => 0,
  skip_connect: () => 0,
  avg_pool_3x3: () => 0,
  nor_conv_1x1: (c) => convBn(c, c, 1),
  nor_conv_3x3: (c) => convBn(c, c, 3),
};

/** Trainable parameters of the NAS-Bench-201 CIFAR-10 network built from cell `a` (73,306 to 1,531,546). */
export function nb201ParamCount(a: Architecture): number {
  const perCell = (c: number) => nb201Ops(a).reduce((s, op) => s + OP_PARAMS[op](c), 0);
  return FIXED_PARAMS + STAGE_CHANNELS.reduce((s, c) => s + CELLS_PER_STAGE * perCell(c), 0);
}

costModels.register('params', ({ space }) => {
  if (space.name !== 'nb201') throw new KilnError(`cost 'params' is computed for the nb201 space only (space is '${space.name}'); use a table column`);
  return { name: 'params', metric: 'params', cost: nb201ParamCount };
}, 'trainable parameters of the NAS-Bench-201 CIFAR-10 network (nb201 only)');

/**
 * A cost by name: a column of the study's table first, then a device-set metric such as
 * `worst_latency(pixel3,raspi4)` (devices.ts), else a registered computed cost.
 */
export function resolveCostModel(name: string, ctx: CostContext): CostModel {
  if (ctx.table?.hasColumn(name)) return tableColumnCost(ctx.table, name);
  if (isDeviceSetMetric(name)) return deviceSetCost(name, ctx.table);
  if (costModels.has(name)) return costModels.get(name)(ctx);
  const columns = ctx.table ? `table columns: ${ctx.table.columns.join(', ')}; ` : '';
  throw new KilnError(`unknown cost metric '${name}' (${columns}device sets: avg_latency(DEV,...), worst_latency(DEV,...); computed: ${costModels.names().join(', ')})`);
}

export type ComparisonOp = '<=' | '>=' | '<' | '>';

export interface Constraint {
  readonly metric: string;
  readonly op: ComparisonOp;
  readonly bound: number;
}

export function formatConstraint(c: Constraint): string {
  return `${c.metric}${c.op}${c.bound}`;
}

export function satisfies(c: Constraint, value: number): boolean {
  switch (c.op) {
    case '<=': return value <= c.bound;
    case '>=': return value >= c.bound;
    case '<': return value < c.bound;
    case '>': return value > c.bound;
  }
}

const CONSTRAINT = /^([A-Za-z_][\w.]*(?:\([\w.,\s]*\))?)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i;

/** Parses `metric<=value` expressions; each input may hold several separated by ',' or ';'. */
export function parseConstraints(exprs: string | readonly string[]): Constraint[] {
  // Commas inside a metric's parentheses (a device list) do not separate constraints.
  const parts = (typeof exprs === 'string' ? [exprs] : exprs).flatMap((e) => e.split(/[,;](?![^()]*\))/)).map((e) => e.trim());
  // An empty constraint is a slip (an unset shell variable, a doubled separator), not "no limit".
  if (parts.includes('')) throw new KilnError(`empty constraint in '${[exprs].flat().join("', '")}' (expected METRIC<=NUMBER, e.g. latency_ms_pixel3<=6)`);
  return parts.map((text) => {
    const m = CONSTRAINT.exec(text);
    if (!m) throw new KilnError(`malformed constraint '${text}' (expected METRIC<=NUMBER, >=, < or >, e.g. latency_ms_pixel3<=6)`);
    return { metric: m[1], op: m[2] as ComparisonOp, bound: Number(m[3]) };
  });
}

/** The costs a study checks before evaluating, and the feasibility rule over them. */
export interface ConstraintSet {
  readonly constraints: readonly Constraint[];
  readonly models: readonly CostModel[];
  /** Every constrained cost of `a`, keyed by cost name. */
  costs(a: Architecture): TrialMetrics;
  feasible(costs: TrialMetrics): boolean;
}

/**
 * Resolves each constraint's metric to a cost model and rejects sets no architecture can
 * meet: contradictory bounds on one metric, or (with a table) no row satisfying them all.
 */
export function createConstraintSet(constraints: readonly Constraint[], ctx: CostContext): ConstraintSet {
  const models = [...new Set(constraints.map((c) => c.metric))].map((name) => resolveCostModel(name, ctx));
  const set: ConstraintSet = {
    constraints,
    models,
    costs: (a) => Object.fromEntries(models.map((m) => [m.name, m.cost(a)])),
    feasible: (costs) => constraints.every((c) => satisfies(c, costs[c.metric])),
  };
  for (const m of models) {
    const on = constraints.filter((c) => c.metric === m.name);
    const lower = Math.max(...on.filter((c) => c.op[0] === '>').map((c) => c.bound));
    const upper = Math.min(...on.filter((c) => c.op[0] === '<').map((c) => c.bound));
    if (lower > upper || (lower === upper && on.some((c) => c.op === '<' || c.op === '>'))) {
      throw new KilnError(`constraints on '${m.name}' contradict each other: ${on.map(formatConstraint).join(', ')}`);
    }
  }
  if (ctx.table && constraints.length) {
    const table = ctx.table;
    const anyRow = table.archs.some((a) => set.feasible(set.costs(a)));
    if (!anyRow) {
      throw new KilnError(`no architecture in ${table.source} satisfies ${constraints.map(formatConstraint).join(', ')}`);
    }
  }
  return set;
}
