import { createRegistry } from '../../core/index.js';
import { evolutionController } from './evolution.js';
import { randomController } from './random.js';
import type { Controller, ControllerFactory, ControllerOptions } from './types.js';
import type { SearchSpace } from '../space/index.js';

export type { Controller, ControllerContext, ControllerFactory, ControllerOptions, TrialResult } from './types.js';
export { checkOptionNames, intOption, checkState } from './types.js';
export { randomController } from './random.js';
export { evolutionController } from './evolution.js';

export const controllers = createRegistry<ControllerFactory>('controller');
controllers.register('random', randomController, 'uniform random search');
controllers.register('evolution', evolutionController, 'regularized evolution (options: population=20, sampleSize=5)');

export function registerController(name: string, factory: ControllerFactory, description?: string): void {
  controllers.register(name, factory, description);
}

export function createController(name: string, space: SearchSpace, seed: number, options: ControllerOptions = {}): Controller {
  return controllers.get(name)({ space, seed, options });
}
