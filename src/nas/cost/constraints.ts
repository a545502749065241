import { KilnError } from '../../core/index.js';
import type { Architecture } from '../space/index.js';
import type { TrialMetrics } from '../evaluators.js';
import { resolveCostModel } from './models.js';
import type { CostContext, CostModel } from './types.js';

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

/**
 * A study's constraints: those on costs are checked before evaluating, for free; those on outcomes
 * (accuracy-like table columns) only on an evaluation's metrics, so meeting them costs an evaluation.
 */
export interface ConstraintSet {
  readonly constraints: readonly Constraint[];
  /** The model of every constrained metric, costs and outcomes. */
  readonly models: readonly CostModel[];
  /** Every constrained cost of `a` (outcomes excluded), keyed by cost name. */
  costs(a: Architecture): TrialMetrics;
  /** Whether `costs` meet the constraints on costs: what may be checked before evaluating. */
  feasibleCosts(costs: TrialMetrics): boolean;
  /** Whether `metrics` meet every constraint (a missing metric does not). */
  feasible(metrics: TrialMetrics): boolean;
}

/**
 * Resolves each constraint's metric to a cost model and rejects sets no architecture can
 * meet: contradictory bounds on one metric, or (with a table) no row satisfying them all.
 */
export function createConstraintSet(constraints: readonly Constraint[], ctx: CostContext): ConstraintSet {
  const models = [...new Set(constraints.map((c) => c.metric))].map((name) => resolveCostModel(name, ctx));
  const costModels = models.filter((m) => m.kind !== 'outcome');
  const onCosts = constraints.filter((c) => costModels.some((m) => m.name === c.metric));
  const meets = (list: readonly Constraint[], metrics: TrialMetrics) =>
    list.every((c) => metrics[c.metric] !== undefined && satisfies(c, metrics[c.metric]));
  const set: ConstraintSet = {
    constraints,
    models,
    costs: (a) => Object.fromEntries(costModels.map((m) => [m.name, m.cost(a)])),
    feasibleCosts: (costs) => meets(onCosts, costs),
    feasible: (metrics) => meets(constraints, metrics),
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
    const row = (a: Architecture) => Object.fromEntries(models.map((m) => [m.name, m.cost(a)]));
    const anyRow = table.archs.some((a) => set.feasible(row(a)));
    if (!anyRow) {
      throw new KilnError(`no architecture in ${table.source} satisfies ${constraints.map(formatConstraint).join(', ')}`);
    }
  }
  return set;
}
