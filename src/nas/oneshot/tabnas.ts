import { check, createRng, KilnError } from '../../core/index.js';
import { numExamples, type Splits } from '../../data/index.js';
import { createController, policyProbs, type Controller, type ControllerOptions } from '../controllers/index.js';
import type { CostModel } from '../cost/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import type { Storage } from '../storage/index.js';
import { mlpParams, mlpSupernet, mlpWidthSpace, mlpWidths, MLP_WIDTHS } from './mlp-supernet.js';
import { rlSearch, type RlSearchResult, type RlStudy, type RlTrainingSettings } from './rl-search.js';
import type { Supernet } from './supernet.js';

/**
 * TabNAS on a tabular dataset: rejection-sampling REINFORCE (Monte-Carlo P(V) correction) over
 * the MLP width supernet under a hard parameter limit. `reward: 'abs'` runs the reward-shaped
 * alternative instead (TuNAS abs reward on params / limit, no hard constraint), which the paper
 * shows can land on an infeasible architecture.
 */
export type TabnasMode = 'rejection' | 'rejection-plain' | 'abs';
export const TABNAS_MODES: readonly TabnasMode[] = ['rejection', 'rejection-plain', 'abs'];

export interface TabnasOptions extends RlTrainingSettings {
  splits: Splits;
  layers: number;
  widths?: readonly number[];
  /** Parameter limit. */
  limit: number;
  mode: TabnasMode;
  /** Controller Adam learning rate. */
  controllerLr: number;
  /** abs mode: reward Q + beta * |params / limit - 1| (beta < 0). */
  beta?: number;
  /** Where the study of the search's steps lives (default: in memory), and its name (default tabnas-MODE-seedSEED). */
  storage?: Storage;
  studyName?: string;
}

export interface TabnasResult {
  space: SearchSpace;
  supernet: Supernet;
  controller: Controller;
  search: RlSearchResult;
  /** The controller's final choice (most likely feasible child for rejection; policy mode for abs). */
  pick: Architecture;
  pickParams: number;
  pickFeasible: boolean;
  /** Probability that the final (unconditioned) policy samples a feasible child, by Monte Carlo. */
  feasibleProbability: number;
  /** Feasible children of the space (exhaustive when the space is small). */
  feasibleCount: number | null;
}

export function paramsCost(space: SearchSpace, inputs: number, classes: number): CostModel {
  return { name: 'params', metric: 'params', cost: (a) => mlpParams(inputs, mlpWidths(space, a), classes) };
}

/** Every architecture of a product space, when it has at most `max`. */
export function enumerate(space: SearchSpace, max = 100_000): Architecture[] | null {
  const sizes = space.decisions.map((d) => d.choices.length);
  const total = sizes.reduce((a, b) => a * b, 1);
  if (total > max) return null;
  return Array.from({ length: total }, (_, k) => {
    const values: number[] = [];
    for (const n of [...sizes].reverse()) {
      values.unshift(k % n);
      k = Math.floor(k / n);
    }
    return { values };
  });
}

/** The mode's controller, and the study that records it: abs is reward-shaped (no hard constraint). */
function controllerFor(o: TabnasOptions, space: SearchSpace, cost: CostModel): { controller: Controller; study: RlStudy } {
  const feasible = (a: Architecture) => cost.cost(a) <= o.limit;
  const name = o.studyName ?? `tabnas-${o.mode}-seed${o.seed}`;
  if (o.mode === 'abs') {
    const options: ControllerOptions = { reward: 'abs', costMetric: 'params', target: o.limit, lr: o.controllerLr, ...(o.beta !== undefined ? { beta: o.beta } : {}) };
    return {
      controller: createController('reinforce', space, o.seed, options, { cost: () => cost }),
      study: { name, controller: 'reinforce', controllerOptions: options },
    };
  }
  const options: ControllerOptions = { lr: o.controllerLr, correction: o.mode === 'rejection' };
  return {
    controller: createController('tabnas', space, o.seed, options, { feasible, candidates: enumerate(space) ?? undefined }),
    study: { name, controller: 'tabnas', controllerOptions: options, constraints: [`params<=${o.limit}`] },
  };
}

export async function tabnasSearch(o: TabnasOptions): Promise<TabnasResult> {
  check(o.limit > 0, `the parameter limit must be positive (got ${o.limit})`);
  check(numExamples(o.splits.val) > 0, `TabNAS needs a validation split for the controller's reward`);
  const inputs = o.splits.train.shape.reduce((a, b) => a * b, 1);
  const classes = o.splits.train.classNames.length;
  const space = mlpWidthSpace(o.layers, o.widths ?? MLP_WIDTHS);
  const cost = paramsCost(space, inputs, classes);
  const smallest = mlpParams(inputs, space.decisions.map((d) => Math.min(...d.choices.map(Number))), classes);
  if (smallest > o.limit) throw new KilnError(`no ${space.name} child fits ${o.limit} parameters (the smallest has ${smallest})`);
  const supernet = mlpSupernet(space, inputs, classes);
  const { controller, study } = controllerFor(o, space, cost);
  const search = await rlSearch({
    supernet, train: o.splits.train, val: o.splits.val, controller, study, storage: o.storage, steps: o.steps, batchSize: o.batchSize,
    valBatchSize: Math.min(numExamples(o.splits.val), 4 * o.batchSize), warmup: o.warmup, lr: o.lr, quality: o.quality,
    seed: o.seed, checkpointDir: o.checkpointDir, checkpointEvery: o.checkpointEvery, onStep: o.onStep, signal: o.signal,
  });
  const feasible = (a: Architecture) => cost.cost(a) <= o.limit;
  const logits = (controller.state() as { logits?: number[][] }).logits;
  check(logits !== undefined, `controller '${controller.name}' exposes no policy`);
  const probs = policyProbs({ logits });
  const rng = createRng(o.seed + 3);
  const draws = 2000;
  let ok = 0;
  for (let i = 0; i < draws; i++) if (feasible({ values: probs.map((row) => rng.categorical(row)) })) ok++;
  const all = enumerate(space);
  const pick = o.mode === 'abs'
    ? { values: probs.map((row) => row.indexOf(Math.max(...row))) }
    : controller.pick?.();
  if (!pick) throw new KilnError('the controller found no feasible architecture');
  return {
    space, supernet, controller, search, pick, pickParams: cost.cost(pick), pickFeasible: feasible(pick),
    feasibleProbability: ok / draws, feasibleCount: all ? all.filter(feasible).length : null,
  };
}
