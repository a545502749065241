import { createRng, type OptionSpec } from '../../core/index.js';
import type { Architecture } from '../space/index.js';
import {
  adamAscend, adamOptionSpecs, adamOptions, addLogProbGrad, boolOption, initialAdam, initialPolicy, isPolicySnapshot,
  logProb, mostLikely, numberOption, policyProbs, sampleValid, updateBaseline, zeroGrad, type PolicySnapshot,
} from './policy.js';
import { checkOptionNames, checkState, intOption, type Controller, type ControllerContext } from './types.js';

export const TABNAS_DEFAULTS = {
  // The paper's toy notebook: Adam(lr 0.1, beta1 0.9, beta2 0.999), baseline momentum 0.9, N = 5.
  lr: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  baselineMomentum: 0.9,
  mcSamples: 5,
} as const;

export const TABNAS_OPTIONS: readonly OptionSpec[] = [
  { name: 'correction', type: 'boolean', default: true, description: 'divide by the Monte-Carlo estimate of P(V) (false: rejection-only REINFORCE)' },
  { name: 'mcSamples', type: 'integer', default: TABNAS_DEFAULTS.mcSamples, min: 1, description: 'Monte-Carlo samples N estimating P(V)' },
  { name: 'mcSamplesEnd', type: 'integer', min: 1, description: 'N after annealing (default mcSamples)' },
  { name: 'mcAnneal', type: 'integer', default: 0, min: 0, description: 'updates over which N goes linearly from mcSamples to mcSamplesEnd' },
  { name: 'qualityScale', type: 'number', default: 1, description: 'Q = objective x scale (> 0)' },
  { name: 'baselineMomentum', type: 'number', default: TABNAS_DEFAULTS.baselineMomentum, min: 0, max: 0.999999, description: 'EMA momentum of the bias-corrected reward baseline' },
  { name: 'maxRejections', type: 'integer', default: 100_000, min: 1, description: 'infeasible samples one ask may discard before giving up' },
  ...adamOptionSpecs(TABNAS_DEFAULTS),
];

interface TabnasState extends PolicySnapshot {
  /** Infeasible samples drawn and discarded by ask(), over the whole search. */
  rejected: number;
  /** Updates skipped because no Monte-Carlo sample was feasible. */
  skipped: number;
}

/**
 * TabNAS rejection sampling (Yang et al. 2022). ask() draws from the policy until the sample
 * meets the study's hard constraints: infeasible samples are never evaluated and cause no
 * update. tell() ascends (Q(y) - b) * log(pi(y) / P(V)), where P(V), the probability that a
 * sample is feasible, is estimated from N fresh policy samples z_k as the sum of pi(z_k) over
 * the feasible ones (duplicates counted) and kept differentiable: its gradient is exact,
 * d log P(V) = sum_k feasible pi(z_k) d log pi(z_k) / P(V). The step is skipped when no z_k is
 * feasible. Without the correction (correction=false) this is rejection-only REINFORCE.
 * N goes linearly from mcSamples to mcSamplesEnd over the first mcAnneal updates.
 * Feasible includes "in the table" for a partial table. After maxRejections misses, ask draws
 * from the policy restricted to the study's feasible candidates when it lists them.
 * Options: correction (true), mcSamples (5), mcSamplesEnd (= mcSamples), mcAnneal (0),
 * qualityScale (1), baselineMomentum (0.9, bias-corrected), maxRejections (100000), lr (0.1),
 * adamBeta1 (0.9), adamBeta2 (0.999), adamEps (1e-8).
 */
export function tabnasController(ctx: ControllerContext): Controller {
  const { space, seed, options } = ctx;
  checkOptionNames('tabnas', options, TABNAS_OPTIONS.map((o) => o.name));
  const correction = boolOption(options, 'correction', true);
  const n0 = intOption(options, 'mcSamples', TABNAS_DEFAULTS.mcSamples, 1);
  const n1 = intOption(options, 'mcSamplesEnd', n0, 1);
  const anneal = intOption(options, 'mcAnneal', 0, 0);
  const scale = numberOption(options, 'qualityScale', 1, Number.MIN_VALUE);
  const momentum = numberOption(options, 'baselineMomentum', TABNAS_DEFAULTS.baselineMomentum, 0, 0.999999);
  const maxRejections = intOption(options, 'maxRejections', 100_000, 1);
  const adam = adamOptions(options, TABNAS_DEFAULTS);
  const feasible = (a: Architecture) => space.isValid(a) && (ctx.feasible?.(a) ?? true);

  const rng = createRng(seed);
  let policy = initialPolicy(space.decisions);
  let opt = initialAdam(policy);
  let baseline = { ema: 0, steps: 0 };
  let rejected = 0;
  let skipped = 0;

  const mcCount = () => (anneal === 0 ? n1 : Math.round(n0 + (n1 - n0) * Math.min(1, baseline.steps / anneal)));

  return {
    name: 'tabnas',
    ask() {
      const { arch, tries } = sampleValid(policyProbs(policy), rng, feasible, 'infeasible', maxRejections, ctx.candidates);
      rejected += tries - 1;
      return arch;
    },
    tell(y, r) {
      if (!r.feasible) return;
      const probs = policyProbs(policy);
      const g = zeroGrad(policy);
      if (correction) {
        const z = Array.from({ length: mcCount() }, () => ({ values: probs.map((row) => rng.categorical(row)) }));
        const ok = z.filter(feasible).map((a) => ({ a, p: Math.exp(logProb(probs, a)) }));
        const pv = ok.reduce((s, { p }) => s + p, 0);
        if (pv === 0) {
          skipped++;
          return;
        }
        const q = r.score * scale;
        const advantage = q - updateBaseline(baseline, q, momentum);
        addLogProbGrad(g, probs, y, advantage);
        for (const { a, p } of ok) addLogProbGrad(g, probs, a, (-advantage * p) / pv);
      } else {
        const q = r.score * scale;
        addLogProbGrad(g, probs, y, q - updateBaseline(baseline, q, momentum));
      }
      adamAscend(policy, opt, g, adam);
    },
    /** The most likely feasible architecture: the mode of the policy conditioned on feasibility. */
    pick: () => mostLikely(policyProbs(policy), feasible, createRng(seed + 1), ctx.candidates),
    state: (): TabnasState => structuredClone({ rng: rng.state(), logits: policy.logits, adam: opt, baseline, rejected, skipped }),
    restore(s) {
      const st = s as TabnasState;
      checkState('tabnas', isPolicySnapshot(s) && typeof st.rejected === 'number' && typeof st.skipped === 'number');
      const c = structuredClone(st);
      rng.restore(c.rng);
      policy = { logits: c.logits };
      opt = c.adam;
      baseline = c.baseline;
      rejected = c.rejected;
      skipped = c.skipped;
    },
  };
}
