import { createRegistry, KilnError, type OptionSpec, type OptionValue } from '../core/index.js';
import type { CostModel } from './cost/index.js';
import type { Architecture, SearchSpace } from './space/index.js';
import type { BenchmarkTable } from './table.js';

export type TrialMetrics = Record<string, number>;

/** Gives an architecture its metrics (objective and anything else the source knows). */
export interface Evaluator {
  readonly name: string;
  /** Metric names `evaluate` returns, so a study can check its objective up front. */
  readonly metrics: readonly string[];
  /**
   * For an evaluator that scores only part of the space (a benchmark table's rows): whether it
   * scores `a`. A study proposes only covered architectures and records any other as not
   * evaluable, without calling `evaluate`. Absent: it scores every architecture.
   */
  covers?(a: Architecture): boolean;
  /** The architectures it scores, when `covers` is set and they can be listed. */
  readonly candidates?: readonly Architecture[];
  /**
   * Costs it knows before evaluating (a trained model's parameter count): constraints on them are
   * checked, free, before any evaluation, and controllers may use them.
   */
  readonly costs?: readonly CostModel[];
  /**
   * `artifacts`: an empty folder for what a user wants to keep from this trial (its saved model, plots,
   * a report), given when the study keeps artifacts (see `writeTrialArtifacts`); absent otherwise.
   */
  evaluate(a: Architecture, signal?: AbortSignal, artifacts?: string): Promise<TrialMetrics>;
}

/**
 * What an evaluator may draw on: the space, the study's benchmark table when it has one, and its
 * options as the study stores them (checked against the declared specs, defaults filled in).
 */
export interface EvaluatorContext {
  space: SearchSpace;
  table?: BenchmarkTable;
  options?: Readonly<Record<string, OptionValue>>;
}

export type EvaluatorFactory = (ctx: EvaluatorContext) => Evaluator;

export const evaluators = createRegistry<EvaluatorFactory>('evaluator');
const optionSpecs = new Map<string, readonly OptionSpec[]>();

/** Registers an evaluator with its declared options (`--evaluator-option key=value`). */
export function registerEvaluator(name: string, factory: EvaluatorFactory, description: string, options: readonly OptionSpec[] = []): void {
  evaluators.register(name, factory, description);
  optionSpecs.set(name, options);
}

/**
 * The options an evaluator declares; none for a name outside the registry (a pipeline's own
 * evaluator, which the study only names).
 */
export function evaluatorOptions(name: string): readonly OptionSpec[] {
  return optionSpecs.get(name) ?? [];
}

/**
 * Looks the architecture up in the benchmark table; every numeric column becomes a metric.
 * It covers the table's rows only, so a table may hold any part of the space.
 */
export function tableEvaluator(ctx: EvaluatorContext): Evaluator {
  const { table, space } = ctx;
  if (!table) throw new KilnError(`the 'table' evaluator needs a benchmark table (--table FILE.csv)`);
  return {
    name: 'table',
    metrics: table.columns,
    covers: (a) => table.rowOf(a) >= 0,
    candidates: table.archs,
    async evaluate(a) {
      const row = table.rowOf(a);
      if (row < 0) throw new KilnError(`architecture ${space.toString(a)} is not in table ${table.source}`);
      return table.row(row);
    },
  };
}

registerEvaluator('table', tableEvaluator, 'benchmark-table lookup: every numeric column of the row');

export function createEvaluator(name: string, ctx: EvaluatorContext): Evaluator {
  return evaluators.get(name)(ctx);
}
