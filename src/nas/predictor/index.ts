import { KilnError } from '../../core/index.js';
import { mean, std } from '../../math/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import { gcnWidth, trainGcn, type GcnConfig } from './gcn.js';
import { trainMlp, type MlpConfig } from './mlp.js';

export { gcnWidth, trainGcn, type GcnConfig } from './gcn.js';
export { trainMlp, type MlpConfig } from './mlp.js';

/** Accuracy predictors of the Neural Predictor paper: a GCN on the cell DAG, an MLP on one-hot encodings. */
export const PREDICTOR_MODELS = ['mlp', 'gcn'] as const;
export type PredictorModel = (typeof PREDICTOR_MODELS)[number];

export interface PredictorConfig {
  model: PredictorModel;
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  /** MLP hidden widths, or the GCN width (0: the paper's width for the training-set size). */
  hidden: readonly number[];
  seed: number;
}

/** The paper's GCN training (300 epochs, batch 10, Adam lr 1e-4, weight decay 1e-3); the MLP's lighter defaults. */
export const PREDICTOR_DEFAULTS: Record<PredictorModel, Omit<PredictorConfig, 'seed' | 'model'>> = {
  gcn: { epochs: 300, batch: 10, lr: 1e-4, weightDecay: 1e-3, hidden: [0] },
  mlp: { epochs: 100, batch: 10, lr: 1e-2, weightDecay: 1e-3, hidden: [32, 32] },
};

export interface Predictor {
  predict(archs: readonly Architecture[]): number[];
  dispose(): void;
}

/** Fits a predictor on (architecture, objective) pairs; targets are standardized, predictions are not. */
export function fitPredictor(space: SearchSpace, archs: readonly Architecture[], y: readonly number[], cfg: PredictorConfig): Predictor {
  if (archs.length < 2) throw new KilnError(`a predictor needs at least 2 training architectures, got ${archs.length}`);
  const mu = mean(y);
  const sigma = std(y) || 1;
  const z = y.map((v) => (v - mu) / sigma);
  const back = (p: number) => mu + sigma * p;
  if (cfg.model === 'mlp') {
    const mlpCfg: MlpConfig = { ...cfg, hidden: cfg.hidden };
    const f = trainMlp(archs.map((a) => space.encode(a)), z, mlpCfg);
    return { predict: (as) => as.map((a) => back(f(space.encode(a)))), dispose() {} };
  }
  const gcnCfg: GcnConfig = { ...cfg, hidden: cfg.hidden[0] || gcnWidth(archs.length), fc: 128, dropout: 0.1 };
  const g = trainGcn(archs.map((a) => space.graph(a)), z, gcnCfg);
  return { predict: (as) => g.predict(as.map((a) => space.graph(a))).map(back), dispose: g.dispose };
}
