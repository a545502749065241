import { check, createRegistry } from '../core/index.js';
import { tf } from '../backend/index.js';
import { Adam } from './adam.js';

export interface OptimizerOptions {
  lr: number;
  /** Momentum of SGD (0 = plain SGD) and RMSProp. */
  momentum?: number;
}

export type OptimizerFactory = (o: OptimizerOptions) => tf.Optimizer;

export const optimizers = createRegistry<OptimizerFactory>('optimizer');

optimizers.register('adam', (o) => new Adam(o.lr), 'Adam (beta1 0.9, beta2 0.999)');
optimizers.register('sgd', (o) => ((o.momentum ?? 0.9) > 0 ? tf.train.momentum(o.lr, o.momentum ?? 0.9) : tf.train.sgd(o.lr)),
  'SGD with momentum (default 0.9; 0 = plain SGD)');
optimizers.register('rmsprop', (o) => tf.train.rmsprop(o.lr, 0.9, o.momentum ?? 0), 'RMSProp (decay 0.9, momentum default 0)');

export function createOptimizer(name: string, o: OptimizerOptions): tf.Optimizer {
  const factory = optimizers.get(name);
  check(o.momentum === undefined || (o.momentum >= 0 && o.momentum < 1), `momentum must be in [0, 1) (got ${o.momentum})`);
  return factory(o);
}

/**
 * Sets the rate the next step uses. SGD and momentum keep it in a kept scalar (updated through
 * setLearningRate); Adam and RMSProp read their `learningRate` field on every step.
 */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // tfjs optimizers' `instanceof` is duck-typed (every optimizer passes), so test for the method.
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
