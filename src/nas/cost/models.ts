import { createRegistry, KilnError } from '../../core/index.js';
import { nb201Ops, type Architecture } from '../space/index.js';
import type { BenchmarkTable } from '../table.js';
import { deviceSetCost, isDeviceSetMetric } from './devices.js';
import type { CostContext, CostModel, CostModelFactory, MetricKind } from './types.js';

/** Costs computed from the architecture itself; table columns need no registration. */
export const costModels = createRegistry<CostModelFactory>('cost model');

/**
 * Table columns whose values are known before training: latency, energy, memory, model size, parameter and
 * operation counts, by the first word of their name. Every other column (accuracy, loss) is an outcome.
 */
const COST_COLUMN = /^(latency|energy|memory|size|model_size|params|param_count|flops|mflops|gflops|macs|mmacs)(_|$)/i;

/** Whether a table column is a cost (known before training) or an outcome (known only after). */
export function columnKind(column: string): MetricKind {
  return COST_COLUMN.test(column) ? 'cost' : 'outcome';
}

/** A table column as a cost; `latency_ms_<device>` columns name their device. */
export function tableColumnCost(table: BenchmarkTable, column: string): CostModel {
  const values = table.column(column);
  const m = /^(latency_ms)_(.+)$/.exec(column);
  return {
    name: column,
    metric: m ? m[1] : column,
    ...(m ? { device: m[2] } : {}),
    kind: columnKind(column),
    cost(a) {
      const row = table.rowOf(a);
      if (row < 0) throw new KilnError(`architecture is not in table ${table.source}, so its '${column}' is unknown`);
      return values[row];
    },
  };
}

// NAS-Bench-201's network (xautodl TinyNetwork, C=16, N=5): a 3x3 stem, three stages of 5 cells at
// 16/32/64 channels joined by two residual reduction blocks, BN + ReLU, global pooling, a linear classifier.
// Convs have no bias; BN is affine. Only the classifier depends on the dataset (global pooling hides the
// input size): 10 classes for CIFAR-10, 100 for CIFAR-100, 120 for ImageNet16-120.
const STAGE_CHANNELS = [16, 32, 64];
const CELLS_PER_STAGE = 5;
const convBn = (cin: number, cout: number, k: number) => k * k * cin * cout + 2 * cout;
const resBlock = (cin: number, cout: number) => convBn(cin, cout, 3) + convBn(cout, cout, 3) + cin * cout;
const fixedParams = (classes: number) => convBn(3, 16, 3) + resBlock(16, 32) + resBlock(32, 64) + 2 * 64 + 64 * classes + classes;
const OP_PARAMS: Record<string, (c: number) => number> = {
  none: () => 0,
  skip_connect: () => 0,
  avg_pool_3x3: () => 0,
  nor_conv_1x1: (c) => convBn(c, c, 1),
  nor_conv_3x3: (c) => convBn(c, c, 3),
};

/** The NAS-Bench-201 datasets by the prefix of a table's metric columns, with their class counts. */
export const NB201_DATASETS: readonly { prefix: string; classes: number }[] = [
  { prefix: 'cifar100_', classes: 100 },
  { prefix: 'imagenet16_120_', classes: 120 },
  { prefix: 'cifar10_', classes: 10 },
];

/** Classes of the dataset a NAS-Bench-201 table describes (read off its column names; CIFAR-10 when none says). */
export function nb201Classes(table?: BenchmarkTable): number {
  const found = NB201_DATASETS.find((d) => table?.columns.some((c) => c.startsWith(d.prefix)));
  return found?.classes ?? 10;
}

/**
 * Trainable parameters of the NAS-Bench-201 network built from cell `a` for a dataset of `classes` classes
 * (CIFAR-10: 73,306 to 1,531,546).
 */
export function nb201ParamCount(a: Architecture, classes = 10): number {
  const perCell = (c: number) => nb201Ops(a).reduce((s, op) => s + OP_PARAMS[op](c), 0);
  return fixedParams(classes) + STAGE_CHANNELS.reduce((s, c) => s + CELLS_PER_STAGE * perCell(c), 0);
}

costModels.register('params', ({ space, table }) => {
  if (space.name !== 'nb201') throw new KilnError(`cost 'params' is computed for the nb201 space only (space is '${space.name}'); use a table column`);
  const classes = nb201Classes(table);
  return { name: 'params', metric: 'params', cost: (a) => nb201ParamCount(a, classes) };
}, 'trainable parameters of the NAS-Bench-201 network for the table\'s dataset (CIFAR-10, CIFAR-100 or ImageNet16-120; nb201 only)');

/**
 * A cost by name: one the caller supplies (`ctx.models`) first, then a column of the study's table, then a device-set metric such as
 * `worst_latency(pixel3,raspi4)` (devices.ts), else a registered computed cost.
 */
export function resolveCostModel(name: string, ctx: CostContext): CostModel {
  const given = ctx.models?.find((m) => m.name === name);
  if (given) return given;
  if (ctx.table?.hasColumn(name)) return tableColumnCost(ctx.table, name);
  if (isDeviceSetMetric(name)) return deviceSetCost(name, ctx.table);
  if (costModels.has(name)) return costModels.get(name)(ctx);
  const columns = ctx.table ? `table columns: ${ctx.table.columns.join(', ')}; ` : '';
  throw new KilnError(`unknown cost metric '${name}' (${columns}device sets: avg_latency(DEV,...), worst_latency(DEV,...); computed: ${costModels.names().join(', ')})`);
}

