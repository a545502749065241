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
