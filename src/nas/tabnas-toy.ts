import { KilnError } from '../core/index.js';
import { wilson } from '../math/index.js';
import type { Block, ReportDoc } from '../report/index.js';
import { createController, logProb, policyProbs, type Controller, type ControllerOptions, type PolicySnapshot } from './controllers/index.js';
import type { Architecture, SearchSpace } from './space/index.js';

/**
 * The TabNAS paper's toy (Yang et al. 2022; google-research/tabnas toy_example notebooks): input 2
 * -> hidden widths (a, b), a, b in {2, 3, 4} -> output 1, at most 25 parameters, fixed losses.
 * The best feasible architecture is 4-2 (loss 0.6); 3-4, 4-3 and 4-4 are better but too large.
 */
export const TABNAS_TOY_WIDTHS = [2, 3, 4] as const;
export const TABNAS_TOY_LIMIT = 25;
export const TABNAS_TOY_BEST = '4-2';
/** The notebook's losses; the reward (quality) is 1 - loss. */
export const TABNAS_TOY_LOSS: Readonly<Record<string, number>> = {
  '2-2': 0.9, '2-3': 0.9, '3-2': 0.9, '2-4': 0.66, '4-2': 0.6, '3-3': 0.66, '3-4': 0.3, '4-3': 0.3, '4-4': 0.1,
};

/** Weights and biases of 2 -> a -> b -> 1: sum of in*out + out over consecutive layers (3-4: 30, 4-4: 37). */
export function tabnasToyParams(a: number, b: number): number {
  const sizes = [2, a, b, 1];
  return sizes.slice(1).reduce((s, out, i) => s + sizes[i] * out + out, 0);
}

const label = (a: Architecture) => `${TABNAS_TOY_WIDTHS[a.values[0]]}-${TABNAS_TOY_WIDTHS[a.values[1]]}`;
const params = (a: Architecture) => tabnasToyParams(TABNAS_TOY_WIDTHS[a.values[0]], TABNAS_TOY_WIDTHS[a.values[1]]);
const feasible = (a: Architecture) => params(a) <= TABNAS_TOY_LIMIT;
const ALL: Architecture[] = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => ({ values: [i, j] })));

/** The toy's nine architectures as a search space (a controller needs only its decisions and key). */
export const tabnasToySpace: SearchSpace = {
  name: 'tabnas-toy',
  description: 'TabNAS toy: two hidden layers of width 2, 3 or 4',
  decisions: [{ name: 'layer1', choices: TABNAS_TOY_WIDTHS.map(String) }, { name: 'layer2', choices: TABNAS_TOY_WIDTHS.map(String) }],
  sample: (rng) => ({ values: [rng.int(3), rng.int(3)] }),
  mutate: (a) => a,
  isValid: (a) => a.values.length === 2 && a.values.every((v) => Number.isInteger(v) && v >= 0 && v < 3),
  encode: (a) => Float32Array.from([0, 1, 2, 3, 4, 5].map((k) => (a.values[k < 3 ? 0 : 1] === k % 3 ? 1 : 0))),
  graph: () => { throw new KilnError('the TabNAS toy space has no cell graph'); },
  toString: label,
  parse(s) {
    const a = { values: s.split('-').map((w) => TABNAS_TOY_WIDTHS.indexOf(Number(w) as 2 | 3 | 4)) };
    if (a.values.length !== 2 || a.values.includes(-1)) throw new KilnError(`malformed TabNAS toy architecture '${s}': expected A-B with A, B in 2, 3, 4`);
    return a;
  },
  key: label,
};

/** The three rewards compared, with the rates a faithful re-implementation of the paper's toy notebook (google-research/tabnas) measured over 100 seeds x 500 iterations. */
export const TABNAS_TOY_SETTINGS = [
  { name: 'rejection + MC correction', controller: 'tabnas', options: {}, reference: 0.76 },
  { name: 'rejection only', controller: 'tabnas', options: { correction: false }, reference: 0.68 },
  {
    // The notebook's abs reward: Q - |params / 25 - 1| (beta 1), Adam(lr 0.05, beta1 0.9), baseline momentum 0.9.
    name: 'abs reward (TuNAS)', controller: 'reinforce', reference: 0.22,
    options: { reward: 'abs', costMetric: 'params', target: TABNAS_TOY_LIMIT, beta: -1, lr: 0.05, adamBeta1: 0.9, baselineMomentum: 0.9 },
  },
] as const;

export interface TabnasToyOutcome {
  /** The most likely feasible architecture under the final policy (the policy conditioned on feasibility). */
  feasibleFavourite: string;
  /** The most likely architecture under the final policy. */
  favourite: string;
  /** Policy updates made (rejected samples and skipped MC steps make none). */
  updates: number;
}

/**
 * One search of `steps` steps counted as the notebook counts them: each step draws one
 * architecture, so an infeasible draw that rejection sampling discards uses up a step.
 */
export function runTabnasToySeed(setting: (typeof TABNAS_TOY_SETTINGS)[number], seed: number, steps: number): TabnasToyOutcome {
  const c: Controller = setting.controller === 'tabnas'
    ? createController('tabnas', tabnasToySpace, seed, setting.options as ControllerOptions, { feasible, candidates: ALL })
    : createController('reinforce', tabnasToySpace, seed, setting.options as ControllerOptions, {
      cost: () => ({ name: 'params', metric: 'params', cost: params }), candidates: ALL,
    });
  const rejected = () => (c.state() as { rejected?: number }).rejected ?? 0;
  let drawn = 0;
  let updates = 0;
  while (drawn < steps) {
    const before = rejected();
    const a = c.ask();
    drawn += rejected() - before + 1;
    if (drawn > steps) break; // the feasible draw would come after the last step
    c.tell(a, { score: 1 - TABNAS_TOY_LOSS[label(a)], feasible: true, metrics: {} });
    updates++;
  }
  const probs = policyProbs({ logits: (c.state() as PolicySnapshot).logits });
  const p = (a: Architecture) => Math.exp(logProb(probs, a));
  const argmax = (archs: Architecture[]) => label(archs.reduce((b, a) => (p(a) > p(b) ? a : b)));
  return { feasibleFavourite: argmax(ALL.filter(feasible)), favourite: argmax(ALL), updates };
}

export interface TabnasToyRate {
  setting: string;
  /** Seeds whose final policy's most likely feasible architecture is 4-2. */
  hits: number;
  seeds: number;
  rate: number;
  /** 95% Wilson interval of the rate. */
  low: number;
  high: number;
  reference: number;
  /** Seeds whose final policy's most likely architecture is infeasible. */
  infeasibleFavourite: number;
  meanUpdates: number;
}

export interface TabnasToyResult {
  seeds: number;
  steps: number;
  rates: TabnasToyRate[];
}

/** Runs the three rewards over seeds 0..seeds-1 and counts how often each ends on 4-2. */
export function runTabnasToy(opts: { seeds: number; steps?: number }): TabnasToyResult {
  const { seeds } = opts;
  const steps = opts.steps ?? 500;
  if (!Number.isInteger(seeds) || seeds < 1) throw new KilnError(`TabNAS toy seeds must be a positive integer, got ${seeds}`);
  if (!Number.isInteger(steps) || steps < 1) throw new KilnError(`TabNAS toy steps must be a positive integer, got ${steps}`);
  const rates = TABNAS_TOY_SETTINGS.map((setting) => {
    const runs = Array.from({ length: seeds }, (_, seed) => runTabnasToySeed(setting, seed, steps));
    const hits = runs.filter((r) => r.feasibleFavourite === TABNAS_TOY_BEST).length;
    return {
      setting: setting.name, hits, seeds, ...wilson(hits, seeds), reference: setting.reference,
      infeasibleFavourite: runs.filter((r) => !feasible(tabnasToySpace.parse(r.favourite))).length,
      meanUpdates: runs.reduce((s, r) => s + r.updates, 0) / seeds,
    };
  });
  return { seeds, steps, rates };
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The rates as report rows: rate [95% Wilson] next to the reference. */
export function tabnasToyRows(result: TabnasToyResult): (string | number)[][] {
  return result.rates.map((r) => [
    r.setting, `${r.hits}/${r.seeds}`, `${pct(r.rate)} [${pct(r.low)}, ${pct(r.high)}]`, `~${pct(r.reference)}`,
    `${r.infeasibleFavourite}/${r.seeds}`, r.meanUpdates.toFixed(0),
  ]);
}

export const TABNAS_TOY_COLUMNS = ['reward', '4-2 found', 'rate [95% Wilson]', 'reference', 'favourite infeasible', 'updates / run'];

export function tabnasToyReport(result: TabnasToyResult): ReportDoc {
  const blocks: Block[] = [
    {
      kind: 'text',
      text: `The TabNAS paper's toy (Yang et al. 2022): input 2 -> hidden widths a, b in {2, 3, 4} -> output 1, at most ` +
        `${TABNAS_TOY_LIMIT} parameters; the best feasible architecture is ${TABNAS_TOY_BEST}. Each of ${result.seeds} seeds runs ` +
        `${result.steps} steps, a step being one sampled architecture as in the paper's notebook (a sample rejection discards ` +
        'uses a step and makes no update). A run finds 4-2 when 4-2 is the most likely feasible architecture of its final policy.',
    },
    { kind: 'table', columns: TABNAS_TOY_COLUMNS, rows: tabnasToyRows(result), caption: 'How often each reward ends on the best feasible architecture' },
    {
      kind: 'text',
      text: 'Reference: rates over 100 seeds x 500 steps measured by a faithful re-implementation of the TabNAS toy notebook (google-research/tabnas). ' +
        '"favourite infeasible": runs whose final policy puts most mass on an architecture over the limit. ' +
        'Parameters (2 -> a -> b -> 1, weights and biases): ' +
        ALL.map((a) => `${label(a)}: ${params(a)}`).join(', ') + '.',
    },
  ];
  return { title: 'TabNAS toy: rejection sampling vs the abs reward', blocks };
}
