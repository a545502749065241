import { KilnError, check, createRegistry, createRng, type OptionSpec, type OptionValue, type Rng } from '../core/index.js';
export type { OptionSpec, OptionValue };
import { tf } from '../backend/index.js';
import { buildGraph, disposeGraph, forward, type Graph } from './graph.js';
import { handleSoftmax, mergeBatchNorm } from './canonizers.js';
import { byLayerKind, COMPOSITE_DEFAULTS, resolveComposite, uniform, withInputRule, type Composite } from './composites.js';
import { gradientMapping, lrpMapper, reversePass, type Mapper, type ReverseMapping } from './reverse.js';
import { alphaBetaRule, boundedRule, epsilonRule, flatRule, wSquareRule, zPlusFastRule } from './rules.js';
import { computePatterns, PATTERN_TYPES, type FitOptions, type PatternType } from './patterns.js';

/**
 * Every attribution method of iNNvestigate, behind one interface:
 * `createAnalyzer(name, model, options).analyze(x, { neuronSelection })` returns a tensor shaped like x.
 * Names, option names and defaults follow iNNvestigate, so its documentation applies; where the
 * two differ on biases (alpha-beta, w_square), the rules follow Zennit (see rules.ts). The `lrp`
 * analyzer runs a named composite (Zennit's, see composites.ts) or a Composite of one's own.
 */

export type NeuronSelection = 'max_activation' | 'index' | 'all';
export const NEURON_SELECTIONS: readonly NeuronSelection[] = ['max_activation', 'index', 'all'];

export interface AnalyzeOptions {
  /** Which output to explain: each example's largest (default), a given index, or the sum of all. */
  neuronSelection?: NeuronSelection;
  /** For 'index': one output index for the whole batch, or one per example. */
  index?: number | readonly number[];
}

/** An analysis together with what it explained. */
export interface Explanation {
  /** Shaped like the input. */
  relevance: tf.Tensor;
  /**
   * The output index explained for each example (the argmax under 'max_activation', the given index
   * under 'index'); null under 'all', which explains the sum of every output.
   */
  neuron: number[] | null;
}

export interface Analyzer {
  readonly name: string;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<Record<string, OptionValue>>;
  analyze(x: tf.Tensor, opts?: AnalyzeOptions): tf.Tensor;
  /** `analyze`, also saying which output neuron each example's relevance explains. */
  explain(x: tf.Tensor, opts?: AnalyzeOptions): Explanation;
  /** Present on analyzers that learn from data (PatternNet, PatternAttribution); one pass over `data`. */
  fit?(data: tf.Tensor, opts?: { batchSize?: number }): void;
  dispose(): void;
}

/** What to explain, resolved for one batch. */
export type ResolvedSelection = { mode: 'max' } | { mode: 'index'; index: number[] } | { mode: 'all' };

interface Method {
  analyze(x: tf.Tensor, sel: ResolvedSelection): tf.Tensor;
  fit?(data: tf.Tensor, opts: FitOptions): void;
  dispose?(): void;
}

interface MethodContext {
  graph: Graph;
  options: Record<string, OptionValue>;
  /** A Composite object given as the `composite` option (a name stays in `options`). */
  composite?: Composite;
}

export interface AnalyzerEntry {
  options: OptionSpec[];
  /** Learns from data: `fit` must run before `analyze`. */
  needsFit?: boolean;
  create(ctx: MethodContext): Method;
}

export const analyzers = createRegistry<AnalyzerEntry>('analyzer');

export interface AnalyzerOptions {
  /** Analyze the logits of a model that ends in softmax (otherwise such a model is refused). */
  stripSoftmax?: boolean;
  /**
   * For the `lrp` analyzer: a registered composite's name (see listComposites), built with the
   * analyzer's numeric options (epsilon, stabilizer, gamma, low, high), or a Composite, used as it is.
   */
  composite?: string | Composite;
  [option: string]: unknown;
}

/** Where a Composite object stands in the resolved options (they hold only plain values). */
const CUSTOM_COMPOSITE = '(custom)';

function resolveOptions(name: string, specs: OptionSpec[], given: Record<string, unknown>): Record<string, OptionValue> {
  const known = specs.map((s) => s.name);
  for (const key of Object.keys(given)) {
    if (key !== 'stripSoftmax' && !known.includes(key)) {
      throw new KilnError(`analyzer '${name}' has no option '${key}' (options: ${known.length ? known.join(', ') : 'none'})`);
    }
  }
  const out: Record<string, OptionValue> = {};
  for (const spec of specs) {
    if (spec.name === 'composite' && typeof given.composite === 'function') {
      out.composite = CUSTOM_COMPOSITE;
      continue;
    }
    const v = given[spec.name] ?? spec.default;
    if (v === undefined) continue;
    if (spec.type === 'number') check(typeof v === 'number' && Number.isFinite(v), `option ${spec.name} of '${name}' must be a finite number (got ${String(v)})`);
    if (spec.type === 'boolean') check(typeof v === 'boolean', `option ${spec.name} of '${name}' must be true or false (got ${String(v)})`);
    if (spec.type === 'string') {
      check(typeof v === 'string' && (!spec.choices || spec.choices.includes(v)),
        `option ${spec.name} of '${name}' must be ${spec.choices ? `one of ${spec.choices.join(', ')}` : 'a string'} (got ${String(v)})`);
    }
    out[spec.name] = v as OptionValue;
  }
  return out;
}

function required(ctx: MethodContext, name: string, analyzer: string): number {
  const v = ctx.options[name];
  if (typeof v !== 'number') throw new KilnError(`analyzer '${analyzer}' needs the option ${name}`);
  return v;
}

function resolveSelection(opts: AnalyzeOptions, batch: number, classes: number): ResolvedSelection {
  const mode = opts.neuronSelection ?? 'max_activation';
  if (mode === 'max_activation') return { mode: 'max' };
  if (mode === 'all') return { mode: 'all' };
  check(mode === 'index', `unknown neuron selection '${String(mode)}' (known: ${NEURON_SELECTIONS.join(', ')})`);
  check(opts.index !== undefined, "neuron selection 'index' needs an index");
  const index = typeof opts.index === 'number' ? new Array<number>(batch).fill(opts.index) : [...opts.index];
  check(index.length === batch, `neuron selection 'index' got ${index.length} indices for a batch of ${batch}`);
  for (const i of index) check(Number.isInteger(i) && i >= 0 && i < classes, `output index ${i} is out of range [0, ${classes})`);
  return { mode: 'index', index };
}

/** One-hot (or all-ones) weights over the outputs [N, C]. */
export function selectionMask(y: tf.Tensor, sel: ResolvedSelection): tf.Tensor {
  const classes = y.shape[1]!;
  if (sel.mode === 'all') return tf.onesLike(y);
  const idx = sel.mode === 'max' ? tf.argMax(y, 1) : tf.tensor1d(sel.index, 'int32');
  return tf.cast(tf.oneHot(idx as tf.Tensor1D, classes), 'float32');
}

/** Fixes "the largest output" on the unperturbed input before methods that perturb it. */
function fixSelection(graph: Graph, x: tf.Tensor, sel: ResolvedSelection): ResolvedSelection {
  if (sel.mode !== 'max') return sel;
  const idx = tf.tidy(() => tf.argMax(forward(graph, x), 1));
  const index = Array.from(idx.dataSync());
  idx.dispose();
  return { mode: 'index', index };
}

function repeatSelection(sel: ResolvedSelection, times: number): ResolvedSelection {
  return sel.mode === 'index' ? { mode: 'index', index: sel.index.flatMap((i) => new Array<number>(times).fill(i)) } : sel;
}

const gradientStart = (sel: ResolvedSelection) => (y: tf.Tensor) => selectionMask(y, sel);
const relevanceStart = (sel: ResolvedSelection) => (y: tf.Tensor) => tf.mul(y, selectionMask(y, sel));

function gradient(graph: Graph, x: tf.Tensor, sel: ResolvedSelection): tf.Tensor {
  return reversePass(graph, x, gradientStart(sel), () => gradientMapping);
}

/** Methods that change only how ReLUs pass the signal back. */
function reluMapper(reluBack: ReverseMapping): Mapper {
  return (op) => (op.type === 'activation' && op.activation === 'relu' ? reluBack : gradientMapping);
}

/**
 * Averages `perExample` gradients of `n` perturbed copies of every example, processing as many
 * examples at once as fit in about 256 rows.
 */
function averagedGradients(graph: Graph, x: tf.Tensor, sel: ResolvedSelection, n: number,
  perturb: (x1: tf.Tensor, rows: number) => tf.Tensor): tf.Tensor {
  const fixed = fixSelection(graph, x, sel);
  const batch = x.shape[0];
  const chunk = Math.max(1, Math.floor(256 / n));
  const parts: tf.Tensor[] = [];
  for (let start = 0; start < batch; start += chunk) {
    const size = Math.min(chunk, batch - start);
    parts.push(tf.tidy(() => {
      const xs = tf.slice(x, start, size);
      const rows = tf.reshape(tf.tile(tf.expandDims(xs, 1), [1, n, ...xs.shape.slice(1).map(() => 1)]), [size * n, ...xs.shape.slice(1)]);
      const part: ResolvedSelection = fixed.mode === 'index' ? { mode: 'index', index: fixed.index.slice(start, start + size) } : fixed;
      const g = gradient(graph, perturb(rows, size * n), repeatSelection(part, n));
      return tf.mean(tf.reshape(g, [size, n, ...xs.shape.slice(1)]), 1);
    }));
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

function seeded(ctx: MethodContext): Rng {
  return createRng(Number(ctx.options.seed ?? 0));
}

// ---- the registry -------------------------------------------------------------------------------

const seedOption: OptionSpec = { name: 'seed', type: 'number', default: 0, description: 'seed of the noise stream' };

analyzers.register('input', {
  options: [],
  create: () => ({ analyze: (x) => tf.clone(x) }),
}, 'the input itself (a reference point for the other maps)');

analyzers.register('random', {
  options: [{ name: 'stddev', type: 'number', default: 1, description: 'standard deviation of the noise' }, seedOption],
  create: (ctx) => {
    const rng = seeded(ctx);
    return { analyze: (x) => tf.randomNormal(x.shape, 0, Number(ctx.options.stddev), 'float32', rng.int(2 ** 31 - 1)) };
  },
}, 'Gaussian noise shaped like the input (a baseline for sanity checks)');

const postprocessOption: OptionSpec = {
  name: 'postprocess', type: 'string', default: 'none', choices: ['none', 'abs', 'square'], description: 'applied to the gradient',
};

function postprocess(g: tf.Tensor, how: OptionValue): tf.Tensor {
  if (how === 'abs') return tf.tidy(() => tf.abs(g));
  if (how === 'square') return tf.tidy(() => tf.square(g));
  return g;
}

analyzers.register('gradient', {
  options: [postprocessOption],
  create: (ctx) => ({
    analyze: (x, sel) => {
      const g = gradient(ctx.graph, x, sel);
      const out = postprocess(g, ctx.options.postprocess);
      if (out !== g) g.dispose();
      return out;
    },
  }),
}, 'd output / d input, by the layer-wise reverse pass');

analyzers.register('gradient.baseline', {
  options: [],
  create: ({ graph }) => ({
    analyze: (x, sel) => tf.tidy(() => {
      const mask = selectionMask(forward(graph, x), sel);
      return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(forward(graph, v), mask)))(x);
    }),
  }),
}, 'd output / d input, by automatic differentiation of the whole model (a reference for gradient)');

analyzers.register('input_t_gradient', {
  options: [],
  create: ({ graph }) => ({ analyze: (x, sel) => tf.tidy(() => tf.mul(x, gradient(graph, x, sel))) }),
}, 'input times gradient');

analyzers.register('deconvnet', {
  options: [],
  create: ({ graph }) => ({
    analyze: (x, sel) => reversePass(graph, x, gradientStart(sel), reluMapper((_op, _xs, _y, s) => [tf.relu(s)])),
  }),
}, 'DeconvNet: ReLUs pass back the positive part of the signal, ignoring the forward pass');

analyzers.register('guided_backprop', {
  options: [],
  create: ({ graph }) => ({
    analyze: (x, sel) => reversePass(graph, x, gradientStart(sel), reluMapper((_op, [xin], _y, s) =>
      [tf.mul(tf.relu(s), tf.cast(tf.greater(xin, 0), 'float32'))])),
  }),
}, 'guided backprop: gradient and DeconvNet masks combined at every ReLU');

analyzers.register('integrated_gradients', {
  options: [
    { name: 'steps', type: 'number', default: 64, description: 'points on the straight path from the reference to the input' },
    { name: 'reference_inputs', type: 'number', default: 0, description: 'the reference input value (every feature)' },
  ],
  create: (ctx) => ({
    analyze: (x, sel) => {
      const steps = Number(ctx.options.steps);
      check(Number.isInteger(steps) && steps >= 1, `integrated_gradients needs steps >= 1 (got ${steps})`);
      const ref = Number(ctx.options.reference_inputs);
      // Midpoint Riemann sum: its error falls as 1/steps^2 (iNNvestigate's right sum falls as 1/steps).
      const alphas = Array.from({ length: steps }, (_, k) => (k + 0.5) / steps);
      const g = averagedGradients(ctx.graph, x, sel, steps, (rows, count) => tf.tidy(() => {
        const a = tf.tile(tf.tensor1d(alphas), [count / steps]).reshape([count, ...rows.shape.slice(1).map(() => 1)]);
        return tf.add(ref, tf.mul(a, tf.sub(rows, ref)));
      }));
      const out = tf.tidy(() => tf.mul(g, tf.sub(x, ref)));
      g.dispose();
      return out;
    },
  }),
}, 'integrated gradients (Sundararajan et al.): (x - reference) times the path-averaged gradient');

analyzers.register('smoothgrad', {
  options: [
    { name: 'augment_by_n', type: 'number', default: 64, description: 'noisy copies averaged per input' },
    { name: 'noise_scale', type: 'number', default: 1, description: 'standard deviation of the Gaussian noise' },
    postprocessOption,
    seedOption,
  ],
  create: (ctx) => {
    const rng = seeded(ctx);
    return {
      analyze: (x, sel) => {
        const n = Number(ctx.options.augment_by_n);
        check(Number.isInteger(n) && n >= 1, `smoothgrad needs augment_by_n >= 1 (got ${n})`);
        const scale = Number(ctx.options.noise_scale);
        const g = averagedGradients(ctx.graph, x, sel, n, (rows) => tf.tidy(() =>
          tf.add(rows, tf.randomNormal(rows.shape, 0, scale, 'float32', rng.int(2 ** 31 - 1)))));
        const out = postprocess(g, ctx.options.postprocess);
        if (out !== g) g.dispose();
        return out;
      },
    };
  },
}, 'SmoothGrad: the gradient averaged over Gaussian-perturbed copies of the input');

// ---- LRP and DeepTaylor -------------------------------------------------------------------------

function lrp(name: string, description: string, options: OptionSpec[], composite: (ctx: MethodContext) => Composite): void {
  analyzers.register(name, {
    options,
    create: (ctx) => {
      const mapper = lrpMapper(composite(ctx));
      return { analyze: (x, sel) => reversePass(ctx.graph, x, relevanceStart(sel), mapper) };
    },
  }, description);
}

const biasOption = (value: boolean): OptionSpec =>
  ({ name: 'bias', type: 'boolean', default: value, description: 'include the bias in the normaliser (false: ignore it)' });
const epsilonOption = (value: number): OptionSpec =>
  ({ name: 'epsilon', type: 'number', default: value, description: 'stabiliser added to the normaliser' });
const stabilizerOption = (value = 0): OptionSpec => ({
  name: 'stabilizer', type: 'number', default: value,
  description: 'added with the sign of each non-epsilon normaliser (Zennit); 0: safe division (iNNvestigate)',
});
const stab = (c: MethodContext) => ({ stabilizer: Number(c.options.stabilizer) });

lrp('lrp.z', 'LRP-0 (z rule) on every layer', [biasOption(true)], (c) => uniform(epsilonRule(0, Boolean(c.options.bias))));
lrp('lrp.z_IB', 'LRP-0 ignoring biases', [], () => uniform(epsilonRule(0, false)));
lrp('lrp.epsilon', 'LRP-epsilon on every layer', [epsilonOption(1e-7), biasOption(true)],
  (c) => uniform(epsilonRule(Number(c.options.epsilon), Boolean(c.options.bias))));
lrp('lrp.epsilon_IB', 'LRP-epsilon ignoring biases', [epsilonOption(1e-7)],
  (c) => uniform(epsilonRule(Number(c.options.epsilon), false)));
lrp('lrp.w_square', 'LRP w^2 rule on every layer (relevance spread by squared weights)', [
  { name: 'bias', type: 'boolean', default: false, description: 'add the squared bias to the normaliser (Zennit; false: ignore it)' },
  stabilizerOption(),
], (c) => uniform(wSquareRule({ bias: Boolean(c.options.bias), ...stab(c) })));
lrp('lrp.flat', 'LRP flat rule on every layer (relevance spread uniformly over the receptive field)', [stabilizerOption()],
  (c) => uniform(flatRule(stab(c))));
lrp('lrp.alpha_beta', 'LRP-alpha-beta; give alpha or beta (the other follows from alpha - beta = 1)', [
  { name: 'alpha', type: 'number', description: 'weight of activating contributions' },
  { name: 'beta', type: 'number', description: 'weight of inhibiting contributions' },
  biasOption(true),
  stabilizerOption(),
], (c) => {
  const a = c.options.alpha as number | undefined;
  const b = c.options.beta as number | undefined;
  if (a === undefined && b === undefined) throw new KilnError("analyzer 'lrp.alpha_beta' needs the option alpha or beta");
  const alpha = a ?? (b as number) + 1;
  const beta = b ?? alpha - 1;
  check(alpha >= 0 && beta >= 0, `lrp.alpha_beta needs non-negative alpha and beta (got ${alpha}, ${beta})`);
  return uniform(alphaBetaRule(alpha, beta, Boolean(c.options.bias), stab(c)));
});
const alphaBeta = (alpha: number, beta: number, bias: boolean) => (c: MethodContext) =>
  uniform(alphaBetaRule(alpha, beta, bias, stab(c)));
lrp('lrp.alpha_2_beta_1', 'LRP-alpha2-beta1', [stabilizerOption()], alphaBeta(2, 1, true));
lrp('lrp.alpha_2_beta_1_IB', 'LRP-alpha2-beta1 ignoring biases', [stabilizerOption()], alphaBeta(2, 1, false));
lrp('lrp.alpha_1_beta_0', 'LRP-alpha1-beta0', [stabilizerOption()], alphaBeta(1, 0, true));
lrp('lrp.alpha_1_beta_0_IB', 'LRP-alpha1-beta0 ignoring biases', [stabilizerOption()], alphaBeta(1, 0, false));
lrp('lrp.z_plus', 'LRP z+ (alpha1-beta0 ignoring biases)', [stabilizerOption()], alphaBeta(1, 0, false));
lrp('lrp.z_plus_fast', 'LRP z+ assuming non-negative inputs (positive weights only)', [stabilizerOption()],
  (c) => uniform(zPlusFastRule(stab(c))));

function preset(alpha: number, beta: number, flat: boolean): (c: MethodContext) => Composite {
  return (c) => {
    const rest = byLayerKind({ conv: alphaBetaRule(alpha, beta, true, stab(c)), dense: epsilonRule(Number(c.options.epsilon), true) });
    return flat ? withInputRule(flatRule(stab(c)), rest) : rest;
  };
}
const presetOptions = [epsilonOption(0.1), stabilizerOption()];
lrp('lrp.sequential_preset_a', 'epsilon on dense layers, alpha1-beta0 on convolutions', presetOptions, preset(1, 0, false));
lrp('lrp.sequential_preset_b', 'epsilon on dense layers, alpha2-beta1 on convolutions', presetOptions, preset(2, 1, false));
lrp('lrp.sequential_preset_a_flat', 'preset A with the flat rule on the input layer', presetOptions, preset(1, 0, true));
lrp('lrp.sequential_preset_b_flat', 'preset B with the flat rule on the input layer', presetOptions, preset(2, 1, true));

lrp('deep_taylor', 'DeepTaylor decomposition for ReLU nets (z+ on every layer)', [stabilizerOption()],
  (c) => uniform(zPlusFastRule(stab(c))));
lrp('deep_taylor.bounded', 'DeepTaylor with the bounded (z^B) rule on the input layer, for inputs in [low, high]', [
  { name: 'low', type: 'number', description: 'lowest input value (e.g. 0 for pixels in [0, 1])' },
  { name: 'high', type: 'number', description: 'highest input value' },
  stabilizerOption(),
], (c) => withInputRule(boundedRule(required(c, 'low', 'deep_taylor.bounded'), required(c, 'high', 'deep_taylor.bounded'), stab(c)),
  uniform(zPlusFastRule(stab(c)))));

lrp('lrp', 'LRP with a composite (Zennit): a rule per layer kind, chosen by name (see listComposites) or given as a Composite', [
  { name: 'composite', type: 'string', default: 'epsilon-plus', description: 'a registered composite (kiln explain --composite)' },
  { name: 'epsilon', type: 'number', default: COMPOSITE_DEFAULTS.epsilon, description: 'epsilon of the composite\'s epsilon rule' },
  stabilizerOption(COMPOSITE_DEFAULTS.stabilizer),
  { name: 'gamma', type: 'number', default: COMPOSITE_DEFAULTS.gamma, description: 'gamma of the gamma rule (epsilon-gamma-box)' },
  { name: 'low', type: 'number', default: COMPOSITE_DEFAULTS.low, description: 'lowest input value (epsilon-gamma-box)' },
  { name: 'high', type: 'number', default: COMPOSITE_DEFAULTS.high, description: 'highest input value (epsilon-gamma-box)' },
], (c) => c.composite ?? resolveComposite(String(c.options.composite), {
  epsilon: Number(c.options.epsilon), stabilizer: Number(c.options.stabilizer),
  gamma: Number(c.options.gamma), low: Number(c.options.low), high: Number(c.options.high),
}));

// ---- PatternNet and PatternAttribution ----------------------------------------------------------

function patternMethod(name: string, attribution: boolean): void {
  analyzers.register(name, {
    needsFit: true,
    options: [{ name: 'pattern_type', type: 'string', default: 'relu', choices: PATTERN_TYPES,
      description: "covariance estimator: 'relu' (examples where the neuron is active) or 'linear' (all)" }],
    create: (ctx) => {
      let weights: Map<number, tf.Tensor> | null = null;
      const clear = (): void => { if (weights) tf.dispose([...weights.values()]); };
      const mapper: Mapper = (op) => {
        if (op.type !== 'linear') return gradientMapping;
        const w = weights!.get(op.id)!;
        return (o, [xin], _y, s) => [tf.grad((v: tf.Tensor) => o.linear!.apply(v, w, null))(xin, s)];
      };
      return {
        fit: (data, opts) => {
          const patterns = computePatterns(ctx.graph, data, { ...opts, patternType: ctx.options.pattern_type as PatternType });
          clear();
          weights = attribution ? new Map([...patterns].map(([id, a]) => {
            const aw = tf.mul(a, ctx.graph.ops[id].linear!.weight);
            a.dispose();
            return [id, aw];
          })) : patterns;
        },
        analyze: (x, sel) => {
          if (!weights) throw new KilnError(`analyzer '${name}' must be fitted on training data (fit) before analyze`);
          return reversePass(ctx.graph, x, relevanceStart(sel), mapper);
        },
        dispose: clear,
      };
    },
  }, attribution
    ? 'PatternAttribution: LRP-like backward pass with weights times fitted patterns (needs fit)'
    : 'PatternNet: signal estimated by a backward pass through fitted patterns (needs fit)');
}
patternMethod('pattern.net', false);
patternMethod('pattern.attribution', true);

// ---- the public constructor ---------------------------------------------------------------------

/**
 * An analyzer by registered name (`listAnalyzers()` lists them) for a classifier whose output is
 * [batch, classes]. `options` holds the analyzer's own options (checked against its option specs,
 * defaults filled in) and `stripSoftmax`, without which a model ending in softmax is refused.
 * `analyze(x)` returns relevances shaped like `x`; analyzers with `fit` must be fitted on training data
 * first; `dispose()` frees the weights it copied.
 */
export function createAnalyzer(name: string, model: tf.LayersModel, options: AnalyzerOptions = {}): Analyzer {
  const entry = analyzers.get(name);
  const resolved = resolveOptions(name, entry.options, options);
  const outputShape = model.outputs[0]?.shape ?? [];
  check(outputShape.length === 2, `explain needs a model whose output is [batch, classes] (got [${outputShape.map(String)}])`);
  let graph = handleSoftmax(buildGraph(model), options.stripSoftmax === true);
  graph = mergeBatchNorm(graph);
  const composite = typeof options.composite === 'function' ? options.composite : undefined;
  const method = entry.create({ graph, options: resolved, composite });
  const classes = outputShape[1] as number;
  const expected = graph.inputShape.join('x');
  const select = (x: tf.Tensor, opts: AnalyzeOptions): ResolvedSelection => {
    check(x.shape.slice(1).join('x') === expected,
      `input of shape [${x.shape}] does not match the model's input [batch,${graph.inputShape}]`);
    return resolveSelection(opts, x.shape[0], classes);
  };
  const analyzer: Analyzer = {
    name,
    options: resolved,
    analyze: (x, opts = {}) => method.analyze(x, select(x, opts)),
    explain(x, opts = {}) {
      // The argmax is fixed on the same forward pass the methods use, so the relevance is unchanged.
      const sel = fixSelection(graph, x, select(x, opts));
      return { relevance: method.analyze(x, sel), neuron: sel.mode === 'index' ? sel.index : null };
    },
    dispose() {
      method.dispose?.();
      disposeGraph(graph);
    },
  };
  if (method.fit) {
    const fit = method.fit;
    analyzer.fit = (data, opts = {}) => fit(data, opts);
  }
  return analyzer;
}

export interface AnalyzerInfo {
  name: string;
  description: string;
  options: OptionSpec[];
  needsFit: boolean;
}

/** Every registered analyzer with its options, for `kiln explain --list` and reports. */
export function listAnalyzers(): AnalyzerInfo[] {
  return analyzers.names().map((name) => {
    const entry = analyzers.get(name);
    return { name, description: analyzers.describe(name), options: entry.options, needsFit: entry.needsFit === true };
  });
}
