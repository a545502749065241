import { createRegistry } from '../../core/index.js';
import { evolutionController } from './evolution.js';
import { randomController } from './random.js';
import { reinforceController } from './reinforce.js';
import { tabnasController } from './tabnas.js';
import { predictorController } from './predictor.js';
import { coarseToFineController } from './coarse-to-fine.js';
import type { Controller, ControllerEnv, ControllerFactory, ControllerOptions } from './types.js';
import type { SearchSpace } from '../space/index.js';

export type { Controller, ControllerContext, ControllerEnv, ControllerFactory, ControllerOptions, TrialResult } from './types.js';
export { checkOptionNames, intOption, checkState } from './types.js';
export { randomController } from './random.js';
export { evolutionController } from './evolution.js';
export { reinforceController, REWARDS, REWARD_NAMES, DEFAULT_BETA, REINFORCE_DEFAULTS, type RewardName } from './reinforce.js';
export { tabnasController, TABNAS_DEFAULTS } from './tabnas.js';
export { predictorController } from './predictor.js';
export { coarseToFineController } from './coarse-to-fine.js';
export { policyProbs, logProb, type PolicySnapshot } from './policy.js';

export const controllers = createRegistry<ControllerFactory>('controller');
controllers.register('random', randomController, 'uniform random search');
controllers.register('evolution', evolutionController, 'regularized evolution (options: population=20, sampleSize=5)');
controllers.register('reinforce', reinforceController,
  'TuNAS REINFORCE, independent categorical per decision (options: reward=none|mnas|mnas_hard|abs, costMetric, target, beta, ' +
  'qualityScale=1, baselineMomentum=0.95, lr=0.1, adamBeta1=0, adamBeta2=0.999, adamEps=1e-8)');
controllers.register('tabnas', tabnasController,
  'TabNAS rejection sampling with the Monte-Carlo P(V) correction (options: correction=true, mcSamples=5, mcSamplesEnd, mcAnneal=0, ' +
  'qualityScale=1, baselineMomentum=0.9, maxRejections=100000, lr=0.1, adamBeta1=0.9, adamBeta2=0.999, adamEps=1e-8)');
controllers.register('predictor', predictorController,
  'Neural Predictor: N random, fit a regressor, propose the predicted top K (options: model=mlp|gcn, initial=20, topK=10, ' +
  'refit=true, pool=10000, epochs, batch, lr, weightDecay, hidden)');
controllers.register('coarse-to-fine', coarseToFineController,
  'BigNAS selection: smallest, then random feasible children, then mutations of the best; finite (options: coarse=12, fine=8, costMetric for ties)');

export function registerController(name: string, factory: ControllerFactory, description?: string): void {
  controllers.register(name, factory, description);
}

/** `env` gives a controller the study's cost models, feasibility test and candidate set. */
export function createController(name: string, space: SearchSpace, seed: number, options: ControllerOptions = {}, env: ControllerEnv = {}): Controller {
  return controllers.get(name)({ space, seed, options, ...env });
}
