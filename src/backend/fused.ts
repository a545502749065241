import * as tf from '@tensorflow/tfjs';
import { FUSED } from './fused-names.js';

export { FUSED } from './fused-names.js';

/** Whether the active backend registers the fused kernel `name`. */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Gradients of Relu, Relu6 and ClipByValue as one fused kernel where the backend has it; tfjs's
 * own gradient (three to five full-size ops) elsewhere. Gradients are global in tfjs, so each
 * override keeps the shipped one and picks per call.
 */
function activationGradients(): void {
  const override = (kernelName: string, fused: string, attrsOf: (attrs: tf.NamedAttrMap) => tf.NamedAttrMap = () => ({})) => {
    const shipped = tf.getGradient(kernelName);
    tf.unregisterGradient(kernelName);
    tf.registerGradient({
      ...shipped,
      gradFunc: (dy, saved, attrs) => {
        if (!hasFusedKernel(fused) || Array.isArray(dy) || saved[0].dtype !== 'float32') return shipped.gradFunc(dy, saved, attrs);
        return { x: () => tf.engine().runKernel(fused, { dy, x: saved[0] }, attrsOf(attrs)) as tf.Tensor };
      },
    });
  };
  override('Relu', FUSED.reluGrad);
  override('Relu6', FUSED.relu6Grad);
  override('ClipByValue', FUSED.clipGrad, (attrs) => ({ clipValueMin: attrs.clipValueMin, clipValueMax: attrs.clipValueMax }));
}

/**
 * Batch normalization in training mode as one kernel: y, the batch mean and variance over every
 * axis but the last, and the moving averages updated with `decay` (1 - momentum).
 */
export function batchNormTrain(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, movingMean: tf.Tensor, movingVariance: tf.Tensor,
  epsilon: number, decay: number): tf.Tensor[] {
  return tf.engine().runKernel(FUSED.batchNormTrain, { x, scale, offset, movingMean, movingVariance }, { epsilon, decay }) as unknown as tf.Tensor[];
}

/**
 * x normalized over every axis but the last with its own batch statistics, as tf.moments then
 * tf.batchNorm(x, mean, variance, offset, scale, epsilon) compute it (the training-mode batch norm
 * of code that keeps no moving averages); one fused kernel where the backend has it.
 */
export function batchNormWithBatchStatistics(x: tf.Tensor, offset: tf.Tensor, scale: tf.Tensor, epsilon: number): tf.Tensor {
  if (!hasFusedKernel(FUSED.batchNormTrain) || x.dtype !== 'float32' || x.rank < 2) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, x.shape.slice(0, -1).map((_, i) => i));
      return tf.batchNorm(x, mean, variance, offset, scale, epsilon);
    });
  }
  return tf.tidy(() => {
    const c = x.shape[x.rank - 1];
    return batchNormTrain(x, scale, offset, tf.zeros([c]), tf.ones([c]), epsilon, 0)[0];
  });
}

function batchNormGradient(): void {
  tf.registerGradient({
    kernelName: FUSED.batchNormTrain,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true, false, false],
    // The batch statistics only feed the moving averages (variable writes), so only y's gradient
    // flows back; the moving averages get none.
    gradFunc: (dys, saved, attrs) => {
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [x, scale, mean, variance] = saved;
      // One kernel yields all three gradients; tfjs runs each gradient closure in its own tidy, so
      // they are computed here, in the backward pass's scope, and the closures hand them out.
      const [dx, dscale, doffset] = tf.engine().runKernel(FUSED.batchNormTrainGrad, { dy, x, scale, mean, variance },
        { epsilon: (attrs as { epsilon: number }).epsilon }) as unknown as tf.Tensor[];
      return { x: () => dx, scale: () => dscale, offset: () => doffset, movingMean: () => tf.zerosLike(mean), movingVariance: () => tf.zerosLike(variance) };
    },
  });
}

interface LayerVariable {
  read(): tf.Tensor;
  write(t: tf.Tensor): void;
}

interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

/**
 * tf.layers.batchNormalization in training mode computes tf.moments and tf.batchNorm as separate
 * ops, whose gradients make a dozen full-size passes. Where the backend has the fused kernel, the
 * layer's training step (channels on the last axis, with scale and offset) uses it instead, with
 * the same moving-average updates; every other case runs the layer's own code.
 */
function fusedBatchNormLayer(): void {
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as { call: (inputs: unknown, kwargs: tf.serialization.ConfigDict) => tf.Tensor };
  const shipped = proto.call;
  proto.call = function (this: BatchNormLayer, inputs: unknown, kwargs: tf.serialization.ConfigDict) {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    const fused = kwargs?.training === true && hasFusedKernel(FUSED.batchNormTrain) && x.dtype === 'float32' && x.rank >= 2 &&
      (this.axis === -1 || this.axis === x.rank - 1) && this.gamma !== null && this.beta !== null && (!Array.isArray(inputs) || inputs.length === 1);
    if (!fused) return shipped.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const [y, , , movingMean, movingVariance] = batchNormTrain(x, this.gamma!.read(), this.beta!.read(), this.movingMean.read(),
        this.movingVariance.read(), this.epsilon, 1 - this.momentum);
      this.movingMean.write(movingMean);
      this.movingVariance.write(movingVariance);
      return y;
    });
  };
}

/** tf.layers.reLU({maxValue: 6}) is relu then clipByValue; as one Relu6 kernel it is one pass each way. */
function fusedRelu6Layer(): void {
  const proto = Object.getPrototypeOf(tf.layers.reLU({ maxValue: 6 })) as { call: (inputs: unknown, kwargs: tf.serialization.ConfigDict) => tf.Tensor };
  const shipped = proto.call;
  proto.call = function (this: { maxValue?: number }, inputs: unknown, kwargs: tf.serialization.ConfigDict) {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    if (this.maxValue !== 6 || !hasFusedKernel(FUSED.relu6Grad) || (Array.isArray(inputs) && inputs.length !== 1)) return shipped.call(this, inputs, kwargs);
    return tf.relu6(x);
  };
}

activationGradients();
batchNormGradient();
fusedBatchNormLayer();
fusedRelu6Layer();
