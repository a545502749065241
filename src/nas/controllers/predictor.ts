import { createRng, type OptionSpec } from '../../core/index.js';
import type { Architecture } from '../space/index.js';
import { fitPredictor, PREDICTOR_DEFAULTS, PREDICTOR_MODELS } from '../predictor/index.js';
import { boolOption, choiceOption, numberOption } from './policy.js';
import { coveredProposer } from './coverage.js';
import { checkOptionNames, checkState, intOption, type Controller, type ControllerContext } from './types.js';

interface PredictorState {
  /** The seed the pool and the fits derive from (the constructor's, kept across restores). */
  seed: number;
  rng: number;
  /** Evaluated architectures and their scores, in order. */
  observed: { values: number[]; score: number }[];
  /** Predicted-best architectures still to propose, best first. */
  queue: number[][];
  fits: number;
  /**
   * Keys of every architecture evaluated or ranked for proposal (including those asked and not yet
   * told, which a study shared by workers has); absent in states saved before it was kept.
   */
  seen?: string[];
}

export const PREDICTOR_OPTIONS: readonly OptionSpec[] = [
  { name: 'model', type: 'string', default: 'mlp', choices: PREDICTOR_MODELS, description: 'regressor: MLP on the one-hot encoding or GCN on the cell graph' },
  { name: 'initial', type: 'integer', default: 20, min: 2, description: 'random architectures N before the first fit' },
  { name: 'topK', type: 'integer', default: 10, min: 1, description: 'predicted-best architectures proposed per fit' },
  { name: 'refit', type: 'boolean', default: true, description: 'refit after every topK proposals (false: fit once)' },
  { name: 'pool', type: 'integer', default: 10_000, min: 1, description: 'random feasible candidates ranked when the table is unknown' },
  { name: 'epochs', type: 'integer', min: 1, description: 'training epochs of each fit (default 100 mlp, 300 gcn)' },
  { name: 'batch', type: 'integer', min: 1, description: 'training batch size (default 10)' },
  { name: 'lr', type: 'number', min: 0, description: 'learning rate (default 1e-2 mlp, 1e-4 gcn)' },
  { name: 'weightDecay', type: 'number', min: 0, description: 'weight decay (default 1e-3)' },
  { name: 'hidden', type: 'integer', min: 0, description: "MLP width of both hidden layers (default 32), or GCN width (0 = the paper's)" },
];

/**
 * Neural Predictor (Wen et al. 2019) as a controller: propose `initial` (N) random
 * architectures, fit a regressor on their results, rank the candidate pool (the table's
 * feasible cells, or `pool` random feasible samples), and propose the predicted top K.
 * With refit=true (default) it refits on everything evaluated after every K proposals (the
 * iterative variant); with refit=false it fits once and walks down the single ranking
 * (the paper's protocol: train the top K). Never proposes an architecture twice while the pool
 * lasts; after that, random ones the study can evaluate.
 * Options: model (mlp|gcn), initial (20), topK (10), refit (true), pool (10000), epochs,
 * batch, lr, weightDecay, hidden (MLP widths as one number per layer 'w' repeated twice; GCN width, 0 = paper's).
 */
export function predictorController(ctx: ControllerContext): Controller {
  const { space, seed, options } = ctx;
  checkOptionNames('predictor', options, PREDICTOR_OPTIONS.map((o) => o.name));
  const model = choiceOption(options, 'model', 'mlp', PREDICTOR_MODELS);
  const d = PREDICTOR_DEFAULTS[model];
  const initial = intOption(options, 'initial', 20, 2);
  const topK = intOption(options, 'topK', 10, 1);
  const refit = boolOption(options, 'refit', true);
  const poolSize = intOption(options, 'pool', 10_000, 1);
  const train = {
    epochs: intOption(options, 'epochs', d.epochs, 1),
    batch: intOption(options, 'batch', d.batch, 1),
    lr: numberOption(options, 'lr', d.lr, 0),
    weightDecay: numberOption(options, 'weightDecay', d.weightDecay, 0),
    hidden: options.hidden === undefined ? d.hidden : model === 'mlp'
      ? [intOption(options, 'hidden', 32, 1), intOption(options, 'hidden', 32, 1)] : [intOption(options, 'hidden', 0, 0)],
  };
  let baseSeed = seed;
  const rng = createRng(seed);
  const propose = coveredProposer(ctx);
  let observed: PredictorState['observed'] = [];
  let queue: number[][] = [];
  let fits = 0;

  // The pool is built lazily from a fixed seed, so a restored controller rebuilds the same one;
  // keys are computed once, and `seen` (evaluated or queued keys) is kept incrementally.
  let poolCache: { archs: Architecture[]; keys: string[] } | undefined;
  const pool = () => {
    if (poolCache) return poolCache;
    const ok = (a: Architecture) => space.isValid(a) && (ctx.feasible?.(a) ?? true);
    let archs: Architecture[];
    if (ctx.candidates) {
      archs = ctx.candidates.filter(ok);
    } else {
      const r = createRng(baseSeed ^ 0x5eed);
      const byKey = new Map<string, Architecture>();
      for (let tries = 0; byKey.size < poolSize && tries < poolSize * 20; tries++) {
        const a = space.sample(r);
        if (ok(a)) byKey.set(space.key(a), a);
      }
      archs = [...byKey.values()];
    }
    poolCache = { archs, keys: archs.map((a) => space.key(a)) };
    return poolCache;
  };
  let seen: Set<string> | undefined;
  const seenSet = () => (seen ??= new Set([...observed.map((o) => o.values), ...queue].map((values) => space.key({ values }))));
  const unseen = () => {
    const { archs, keys } = pool();
    const s = seenSet();
    return archs.filter((_, i) => !s.has(keys[i]));
  };

  const rank = (): number[][] => {
    const rest = unseen();
    const scored = observed.filter((o) => Number.isFinite(o.score));
    if (scored.length < 2 || rest.length === 0) return [];
    const p = fitPredictor(space, scored.map((o) => ({ values: o.values })), scored.map((o) => o.score), { model, ...train, seed: baseSeed * 1000 + fits++ });
    const predicted = p.predict(rest);
    p.dispose();
    const order = rest.map((_, i) => i).sort((a, b) => predicted[b] - predicted[a] || a - b);
    const next = order.slice(0, refit ? topK : order.length).map((i) => [...rest[i].values]);
    for (const values of next) seenSet().add(space.key({ values }));
    return next;
  };

  return {
    name: 'predictor',
    ask(): Architecture {
      if (observed.length >= initial && queue.length === 0) queue = rank();
      if (queue.length) return { values: queue.shift()! };
      const rest = unseen();
      return rest.length ? rng.pick(rest) : propose(() => space.sample(rng), (all) => rng.pick(all));
    },
    tell(a, r) {
      seenSet().add(space.key(a));
      observed.push({ values: [...a.values], score: r.feasible ? r.score : -Infinity });
    },
    state: (): PredictorState => structuredClone({ seed: baseSeed, rng: rng.state(), observed, queue, fits, seen: [...seenSet()] }),
    restore(s) {
      const st = s as Partial<PredictorState>;
      checkState('predictor', typeof st?.seed === 'number' && typeof st.rng === 'number' && Array.isArray(st.observed) && Array.isArray(st.queue) && typeof st.fits === 'number');
      if (st.seed !== baseSeed) poolCache = undefined;
      baseSeed = st.seed;
      rng.restore(st.rng);
      // JSON turns -Infinity (infeasible) into null.
      observed = st.observed.map((o) => ({ values: [...o.values], score: o.score ?? -Infinity }));
      queue = st.queue.map((v) => [...v]);
      fits = st.fits;
      seen = st.seen ? new Set(st.seen) : undefined;
    },
  };
}
