import { tf } from '../backend/index.js';
import { FUSED, hasFusedKernel } from '../backend/fused.js';

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** Names under which the bias-correction powers are saved beside tfjs's own Adam weights. */
const ACC_BETA1 = 'adam/accBeta1';
const ACC_BETA2 = 'adam/accBeta2';

/** An optimizer's saved weights: named tensors (tfjs-core's NamedTensor, which tfjs does not re-export). */
type SavedWeights = Awaited<ReturnType<tf.Optimizer['getWeights']>>;

interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
}

/**
 * tf.train.adam with one fused kernel per variable where the backend has it (the native backend):
 * the same state, the same float32 operations in the same order (so the same weights, bit for bit)
 * in one pass instead of about fourteen ops. Elsewhere it is tfjs's Adam. Its saved weights are tfjs's
 * plus the two bias-correction powers, so that a resumed run continues bit for bit.
 */
export class Adam extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  /**
   * tfjs restores the bias-correction powers as pow(beta, t + 1), which differs in the last bits from
   * the running product the steps keep (resumed weights drifted by up to 4e-5): save the products.
   */
  override async getWeights(): Promise<SavedWeights> {
    const state = this as unknown as AdamState;
    return [...await super.getWeights(), { name: ACC_BETA1, tensor: state.accBeta1 }, { name: ACC_BETA2, tensor: state.accBeta2 }];
  }

  override async setWeights(weights: SavedWeights): Promise<void> {
    const saved = new Map(weights.filter((w) => w.name === ACC_BETA1 || w.name === ACC_BETA2).map((w) => [w.name, w.tensor]));
    await super.setWeights(weights.filter((w) => !saved.has(w.name)));
    const state = this as unknown as AdamState;
    const [b1, b2] = [saved.get(ACC_BETA1), saved.get(ACC_BETA2)];
    if (b1 && b2) {
      state.accBeta1.assign(b1);
      state.accBeta2.assign(b2);
    }
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!hasFusedKernel(FUSED.adam)) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    // tfjs computes 1 - accBeta in float32 from the stored (float32) powers of beta.
    const attrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      oneMinusBeta1: 1 - this.beta1,
      beta2: this.beta2,
      oneMinusBeta2: 1 - this.beta2,
      epsilon: this.epsilon,
      oneMinusAccBeta1: Math.fround(1 - state.accBeta1.dataSync()[0]),
      oneMinusAccBeta2: Math.fround(1 - state.accBeta2.dataSync()[0]),
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = list ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i].variable;
        const v = state.accumulatedSecondMoment[i].variable;
        const [w2, m2, v2] = tf.engine().runKernel(FUSED.adam, { value, m, v, gradient }, attrs) as unknown as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(w2);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
