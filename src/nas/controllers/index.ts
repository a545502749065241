import { createRegistry, optionDefaults, type OptionSpec } from '../../core/index.js';
import { EVOLUTION_OPTIONS, evolutionController } from './evolution.js';
import { RANDOM_OPTIONS, randomController } from './random.js';
import { REINFORCE_OPTIONS, reinforceController } from './reinforce.js';
import { TABNAS_OPTIONS, tabnasController } from './tabnas.js';
import { PREDICTOR_OPTIONS, predictorController } from './predictor.js';
import { COARSE_TO_FINE_OPTIONS, coarseToFineController } from './coarse-to-fine.js';
import { CONSTRAINED_EVOLUTION_OPTIONS, constrainedEvolutionController } from './constrained-evolution.js';
import { LOCAL_SEARCH_OPTIONS, localSearchController } from './local-search.js';
import { GUIDED_LOCAL_SEARCH_OPTIONS, guidedLocalSearchController } from './guided-local-search.js';
import type { Controller, ControllerEnv, ControllerFactory, ControllerOptions } from './types.js';
import type { SearchSpace } from '../space/index.js';

export type { Controller, ControllerContext, ControllerEnv, ControllerFactory, ControllerOptions, TrialResult } from './types.js';
export { checkOptionNames, intOption, checkState } from './types.js';
export { coveredProposer, COVERED_TRIES, type CoveredProposer } from './coverage.js';
export { randomController, RANDOM_OPTIONS } from './random.js';
export { evolutionController, EVOLUTION_OPTIONS, tournament, type Member } from './evolution.js';
export { reinforceController, REWARDS, REWARD_NAMES, DEFAULT_BETA, REINFORCE_DEFAULTS, REINFORCE_OPTIONS, type RewardName } from './reinforce.js';
export { tabnasController, TABNAS_DEFAULTS, TABNAS_OPTIONS } from './tabnas.js';
export { predictorController, PREDICTOR_OPTIONS } from './predictor.js';
export { coarseToFineController, COARSE_TO_FINE_OPTIONS } from './coarse-to-fine.js';
export { constrainedEvolutionController, CONSTRAINED_EVOLUTION_OPTIONS } from './constrained-evolution.js';
export { localSearchController, oneDecisionNeighbours, twoDecisionNeighbours, LOCAL_SEARCH_OPTIONS, type LocalSearchState } from './local-search.js';
export { guidedLocalSearchController, GUIDED_LOCAL_SEARCH_OPTIONS } from './guided-local-search.js';
export { policyProbs, logProb, type PolicySnapshot } from './policy.js';

export const controllers = createRegistry<ControllerFactory>('controller');
const optionSpecs = new Map<string, readonly OptionSpec[]>();

/** Registers a controller with its declared options (the names its factory accepts, with types and defaults). */
export function registerController(name: string, factory: ControllerFactory, description?: string, options: readonly OptionSpec[] = []): void {
  controllers.register(name, factory, description);
  optionSpecs.set(name, options);
}

/** The declared options of a registered controller, for help text and `key=value` parsing. */
export function controllerOptions(name: string): readonly OptionSpec[] {
  controllers.get(name);
  return optionSpecs.get(name) ?? [];
}

const withOptions = (text: string, specs: readonly OptionSpec[]) => (specs.length ? `${text} (options: ${optionDefaults(specs)})` : text);
registerController('random', randomController, 'uniform random search', RANDOM_OPTIONS);
registerController('evolution', evolutionController, withOptions('regularized evolution', EVOLUTION_OPTIONS), EVOLUTION_OPTIONS);
registerController('constrained-evolution', constrainedEvolutionController,
  withOptions('regularized evolution whose mutants that break a constraint are repaired by one or two further changes; no repeats', CONSTRAINED_EVOLUTION_OPTIONS),
  CONSTRAINED_EVOLUTION_OPTIONS);
registerController('reinforce', reinforceController,
  withOptions('TuNAS REINFORCE, independent categorical per decision', REINFORCE_OPTIONS), REINFORCE_OPTIONS);
registerController('tabnas', tabnasController,
  withOptions('TabNAS rejection sampling with the Monte-Carlo P(V) correction', TABNAS_OPTIONS), TABNAS_OPTIONS);
registerController('predictor', predictorController,
  withOptions('Neural Predictor: N random, fit a regressor, propose the predicted top K', PREDICTOR_OPTIONS), PREDICTOR_OPTIONS);
registerController('coarse-to-fine', coarseToFineController,
  withOptions('BigNAS selection: smallest, then random feasible children, then mutations of the best; finite', COARSE_TO_FINE_OPTIONS), COARSE_TO_FINE_OPTIONS);
registerController('local-search', localSearchController,
  withOptions('first-improvement hill climbing over one-decision neighbours, restarts at local optima', LOCAL_SEARCH_OPTIONS), LOCAL_SEARCH_OPTIONS);
registerController('guided-local-search', guidedLocalSearchController,
  withOptions('local search trying neighbours in the order a ridge model on the one-hot encoding predicts, and two-decision neighbours at local optima', GUIDED_LOCAL_SEARCH_OPTIONS), GUIDED_LOCAL_SEARCH_OPTIONS);

/** `env` gives a controller the study's cost models, feasibility test and candidate set. */
export function createController(name: string, space: SearchSpace, seed: number, options: ControllerOptions = {}, env: ControllerEnv = {}): Controller {
  return controllers.get(name)({ space, seed, options, ...env });
}
