import { createRng, KilnError, type OptionSpec } from '../../core/index.js';
import type { Architecture } from '../space/index.js';
import {
  adamAscend, adamOptionSpecs, adamOptions, addLogProbGrad, choiceOption, initialAdam, initialPolicy, isPolicySnapshot,
  mostLikely, numberOption, policyProbs, sampleAmong, sampleValid, updateBaseline, zeroGrad, type PolicySnapshot,
} from './policy.js';
import { coveredProposer } from './coverage.js';
import { checkOptionNames, checkState, type Controller, type ControllerContext } from './types.js';

/**
 * TuNAS's rewards for quality Q and cost T against a target T0 (Bender et al. 2020):
 * mnas Q*(T/T0)^beta (MnasNet's soft reward), mnas_hard Q*min((T/T0)^beta, 1) (no bonus below
 * the target), abs Q + beta*|T/T0 - 1| (beta < 0). 'none' is plain REINFORCE on Q.
 */
export const REWARDS = {
  none: (q: number) => q,
  mnas: (q: number, t: number, t0: number, beta: number) => q * (t / t0) ** beta,
  mnas_hard: (q: number, t: number, t0: number, beta: number) => q * Math.min((t / t0) ** beta, 1),
  abs: (q: number, t: number, t0: number, beta: number) => q + beta * Math.abs(t / t0 - 1),
} as const;
export type RewardName = keyof typeof REWARDS;
export const REWARD_NAMES = Object.keys(REWARDS) as RewardName[];

/** Default beta per reward: TuNAS's -0.1 for abs, MnasNet's -0.07 for the mnas rewards. */
export const DEFAULT_BETA: Record<RewardName, number> = { none: 0, mnas: -0.07, mnas_hard: -0.07, abs: -0.1 };

export const REINFORCE_DEFAULTS = {
  // TuNAS: Adam(beta1=0, beta2=0.999, eps=1e-8), EMA baseline momentum 0.95. Its RL learning
  // rate (3e-4 x batch/256) is for tens of thousands of weight-sharing steps; a table search
  // of a few hundred evaluations needs a larger one, so lr defaults to TabNAS's toy value 0.1.
  lr: 0.1,
  beta1: 0,
  beta2: 0.999,
  eps: 1e-8,
  baselineMomentum: 0.95,
} as const;

export const REINFORCE_OPTIONS: readonly OptionSpec[] = [
  { name: 'reward', type: 'string', choices: REWARD_NAMES, description: 'reward of quality Q and cost T (default abs with costMetric, else none)' },
  { name: 'costMetric', type: 'string', description: 'the cost T of a shaped reward: a table column or computed cost' },
  { name: 'target', type: 'number', description: 'the cost target T0 of a shaped reward (> 0)' },
  { name: 'beta', type: 'number', description: 'cost exponent or weight (default -0.1 for abs, -0.07 for mnas, mnas_hard)' },
  { name: 'qualityScale', type: 'number', default: 1, description: 'Q = objective x scale (> 0), e.g. 0.01 for percent accuracies' },
  { name: 'baselineMomentum', type: 'number', default: REINFORCE_DEFAULTS.baselineMomentum, min: 0, max: 0.999999, description: 'EMA momentum of the reward baseline' },
  ...adamOptionSpecs(REINFORCE_DEFAULTS),
];

/**
 * REINFORCE over an independent categorical per decision (TuNAS): each told trial is one
 * policy-gradient step on (reward - baseline) * log pi(a) with Adam. Reward shaping needs
 * the cost of every sample, so a reward-shaped study should carry *no* hard constraint:
 * the target enters through the reward (soft), every sample is evaluated, and whether the
 * final pick meets the limit is judged afterwards. Trials a study rejected as infeasible
 * carry no quality and cause no update. On a partial table, samples outside it are re-drawn
 * (after 100, one is drawn from the policy restricted to the table's rows).
 * Options: reward (none|mnas|mnas_hard|abs; abs when costMetric is set), costMetric, target
 * (T0), beta, qualityScale (Q = objective x scale, e.g. 0.01 for percent accuracies),
 * baselineMomentum, lr, adamBeta1, adamBeta2, adamEps.
 */
export function reinforceController(ctx: ControllerContext): Controller {
  const { space, seed, options } = ctx;
  checkOptionNames('reinforce', options, REINFORCE_OPTIONS.map((o) => o.name));
  const costMetric = options.costMetric;
  if (costMetric !== undefined && typeof costMetric !== 'string') throw new KilnError(`option 'costMetric' must be a metric name`);
  const reward = choiceOption(options, 'reward', costMetric !== undefined ? 'abs' : 'none', REWARD_NAMES);
  const shaped = reward !== 'none';
  if (shaped && costMetric === undefined) throw new KilnError(`reward '${reward}' needs option 'costMetric' (the cost T) and 'target' (T0)`);
  if (shaped && !ctx.cost) throw new KilnError(`reward '${reward}' needs the study's cost models; run it through a study`);
  const target = shaped ? numberOption(options, 'target', NaN, Number.MIN_VALUE) : 1;
  const beta = numberOption(options, 'beta', DEFAULT_BETA[reward]);
  const scale = numberOption(options, 'qualityScale', 1, Number.MIN_VALUE);
  const momentum = numberOption(options, 'baselineMomentum', REINFORCE_DEFAULTS.baselineMomentum, 0, 0.999999);
  const adam = adamOptions(options, REINFORCE_DEFAULTS);
  const cost = shaped ? ctx.cost!(costMetric as string) : undefined;
  const rewardOf = REWARDS[reward];

  const rng = createRng(seed);
  let policy = initialPolicy(space.decisions);
  let opt = initialAdam(policy);
  let baseline = { ema: 0, steps: 0 };
  const propose = coveredProposer(ctx);

  return {
    name: 'reinforce',
    ask() {
      const probs = policyProbs(policy);
      return propose(() => sampleValid(probs, rng, space.isValid, 'invalid').arch, (pool) => sampleAmong(probs, pool, rng));
    },
    tell(a, r) {
      if (!r.feasible) return;
      const q = r.score * scale;
      const value = rewardOf(q, cost ? cost.cost(a) : 1, target, beta);
      // The baseline includes this reward (bias-corrected), so the very first step is neutral.
      const advantage = value - updateBaseline(baseline, value, momentum);
      const probs = policyProbs(policy);
      const g = zeroGrad(policy);
      addLogProbGrad(g, probs, a, advantage);
      adamAscend(policy, opt, g, adam);
    },
    pick: (): Architecture | undefined => mostLikely(policyProbs(policy), space.isValid, createRng(seed + 1), ctx.candidates),
    state: (): PolicySnapshot => structuredClone({ rng: rng.state(), logits: policy.logits, adam: opt, baseline }),
    restore(s) {
      checkState('reinforce', isPolicySnapshot(s));
      const st = structuredClone(s);
      rng.restore(st.rng);
      policy = { logits: st.logits };
      opt = st.adam;
      baseline = st.baseline;
    },
  };
}
