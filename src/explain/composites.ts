import type { Graph, GraphOp } from './graph.js';
import { isInputLayer } from './reverse.js';
import type { Rule } from './rules.js';

/**
 * A composite (Zennit) picks the rule for each linear layer of a model. iNNvestigate's LRP
 * analyzers are composites: one rule everywhere, a rule per layer kind (the sequential presets),
 * and optionally a different rule for the layers that read the input.
 */
export type Composite = (op: GraphOp, graph: Graph) => Rule;

export function uniform(rule: Rule): Composite {
  return () => rule;
}

function isConv(op: GraphOp): boolean {
  return op.linear?.kind === 'conv2d' || op.linear?.kind === 'depthwise';
}

/** Convolutions get `conv`, dense and standalone batch-norm layers `dense`. */
export function byLayerKind(rules: { conv: Rule; dense: Rule }): Composite {
  return (op) => (isConv(op) ? rules.conv : rules.dense);
}

/** The layers reading the model input get `first`; the rest follow `rest`. */
export function withInputRule(first: Rule, rest: Composite): Composite {
  return (op, graph) => (isInputLayer(op, graph) ? first : rest(op, graph));
}
