import { createRegistry } from '../core/index.js';
import type { Graph, GraphOp } from './graph.js';
import { isInputLayer } from './reverse.js';
import { alphaBetaRule, boundedRule, epsilonRule, flatRule, gammaRule, passRule, type Rule } from './rules.js';

/**
 * A composite (Zennit) picks the rule for each linear layer of a model. iNNvestigate's LRP
 * analyzers are composites: one rule everywhere, a rule per layer kind (the sequential presets),
 * and optionally a different rule for the layers that read the input.
 *
 * Writing one needs only the exported types: `(op, graph) => Rule`, where `op.linear` holds the
 * layer's kind, weight and bias and `graph.ops` the whole model (see Graph and GraphOp).
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

// ---- named composites (Zennit's registered composites that Kiln's rules express) ----------------

/** The numbers a named composite is built with (Zennit's defaults; low and high for pixels in [0, 1]). */
export interface CompositeParams {
  /** Epsilon of the epsilon rule on dense layers. */
  epsilon: number;
  /** Stabilizer of every other rule's denominator. */
  stabilizer: number;
  /** Gamma of the gamma rule (epsilon-gamma-box). */
  gamma: number;
  /** Input bounds of the box (z^B) rule on the first convolution (epsilon-gamma-box). */
  low: number;
  high: number;
}

export const COMPOSITE_DEFAULTS: Readonly<CompositeParams> = { epsilon: 1e-6, stabilizer: 1e-6, gamma: 0.25, low: 0, high: 1 };

export type CompositeFactory = (params: CompositeParams) => Composite;

/** Named composites: `composites.register(name, (params) => composite, description)` adds one. */
export const composites = createRegistry<CompositeFactory>('composite');

/**
 * Zennit's layer map: convolutions get `conv`, dense layers epsilon, and a standalone batch
 * normalization passes relevance through (Zennit's Pass for BatchNorm).
 */
function zennitLayerMap(conv: Rule, p: CompositeParams): Composite {
  const dense = epsilonRule(p.epsilon, true);
  const pass = passRule();
  return (op) => (op.linear?.kind === 'affine' ? pass : isConv(op) ? conv : dense);
}

/** Zennit's ZPlus keeps b+ in its denominator: alpha1-beta0 with the bias split by sign. */
const zPlus = (p: CompositeParams): Rule => alphaBetaRule(1, 0, true, { stabilizer: p.stabilizer });
const alpha2Beta1 = (p: CompositeParams): Rule => alphaBetaRule(2, 1, true, { stabilizer: p.stabilizer });

composites.register('epsilon-plus', (p) => zennitLayerMap(zPlus(p), p),
  'z+ on convolutions, epsilon on dense layers (Zennit EpsilonPlus)');
composites.register('epsilon-alpha2-beta1', (p) => zennitLayerMap(alpha2Beta1(p), p),
  'alpha2-beta1 on convolutions, epsilon on dense layers (Zennit EpsilonAlpha2Beta1)');
composites.register('epsilon-plus-flat', (p) => withInputRule(flatRule({ stabilizer: p.stabilizer }), zennitLayerMap(zPlus(p), p)),
  'epsilon-plus with the flat rule on the layers reading the input (Zennit EpsilonPlusFlat)');
composites.register('epsilon-alpha2-beta1-flat',
  (p) => withInputRule(flatRule({ stabilizer: p.stabilizer }), zennitLayerMap(alpha2Beta1(p), p)),
  'epsilon-alpha2-beta1 with the flat rule on the layers reading the input (Zennit EpsilonAlpha2Beta1Flat)');
composites.register('epsilon-gamma-box', (p) => {
  const box = boundedRule(p.low, p.high, { stabilizer: p.stabilizer });
  const rest = zennitLayerMap(gammaRule(p.gamma, { stabilizer: p.stabilizer }), p);
  // Zennit gives the box rule to the first convolution of the model (whether or not it reads the input).
  return (op, graph) => (isConv(op) && op.id === graph.ops.find(isConv)?.id ? box : rest(op, graph));
}, 'box (z^B, inputs in [low, high]) on the first convolution, gamma on the other convolutions, epsilon on dense layers ' +
  '(Zennit EpsilonGammaBox)');

export interface CompositeInfo {
  name: string;
  description: string;
}

/** Every named composite, for `kiln explain --help` and reports. */
export function listComposites(): CompositeInfo[] {
  return composites.names().map((name) => ({ name, description: composites.describe(name) }));
}

/** A composite given by name (built with `params`) or as a Composite itself. */
export function resolveComposite(composite: string | Composite, params: Partial<CompositeParams> = {}): Composite {
  if (typeof composite !== 'string') return composite;
  return composites.get(composite)({ ...COMPOSITE_DEFAULTS, ...params });
}
