import { tf } from '../backend/index.js';
import { check } from '../core/index.js';
import { classificationLoss, type TrainingObjective } from '../train/index.js';

/** Settings of adversarial training: the Linf budget on pixels in [0, 1] and the inner attack. */
export interface AdversarialTrainingOptions {
  eps: number;
  /** PGD steps of the inner maximisation (Madry et al.: 40 on MNIST, 7-10 on CIFAR). */
  steps?: number;
  /** Per-step move (default 2.5 * eps / steps). */
  stepSize?: number;
  /** TRADES: weight of the robustness term KL(f(x) || f(x')) (the paper's 1/lambda; 6 on CIFAR-10). */
  beta?: number;
  /**
   * Optimizer steps over which eps (and the step size with it) grows linearly from 0 to `eps`; 0 (the
   * default): the full budget from the first step. A large budget from scratch (eps 0.3 on MNIST) can
   * leave the network at chance; growing it is the usual curriculum (Gowal et al. 2018 ramp eps over
   * training; Cai et al. 2018, curriculum adversarial training).
   */
  epsRamp?: number;
}

interface Settings {
  eps: number;
  steps: number;
  stepSize: number;
  /** The fraction of eps and step size in force at an optimizer step. */
  scale(step: number): number;
  /** The settings as text, for the objective's name (a resumed run with other settings says so). */
  text: string;
}

function settings(o: AdversarialTrainingOptions): Settings {
  check(Number.isFinite(o.eps) && o.eps > 0 && o.eps <= 1, `adversarial training eps must be in (0, 1] (got ${o.eps})`);
  const steps = o.steps ?? 10;
  check(Number.isInteger(steps) && steps >= 1, `adversarial training steps must be a positive integer (got ${steps})`);
  const stepSize = o.stepSize ?? (2.5 * o.eps) / steps;
  check(Number.isFinite(stepSize) && stepSize > 0, `adversarial training step size must be > 0 (got ${stepSize})`);
  const ramp = o.epsRamp ?? 0;
  check(Number.isInteger(ramp) && ramp >= 0, `adversarial training eps ramp must be a whole number of steps >= 0 (got ${ramp})`);
  return {
    eps: o.eps, steps, stepSize,
    scale: (step) => (ramp === 0 ? 1 : Math.min(1, (step + 1) / ramp)),
    text: `eps=${o.eps} steps=${steps} stepSize=${stepSize}${ramp ? ` epsRamp=${ramp}` : ''}`,
  };
}

/** One signed ascent step on `objective`, projected onto the Linf ball around x and [0, 1]. */
function ascend(x: tf.Tensor, at: tf.Tensor, eps: number, stepSize: number, objective: (z: tf.Tensor) => tf.Scalar): tf.Tensor {
  return tf.tidy(() => {
    const g = tf.grad(objective)(at);
    const moved = at.add(tf.sign(g).mul(stepSize));
    return tf.clipByValue(x.add(tf.clipByValue(moved.sub(x), -eps, eps)), 0, 1);
  });
}

/** KL(p || q) of the softmaxes of two logit batches, averaged over the batch. */
function klDivergence(pLogits: tf.Tensor, qLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(pLogits);
    return tf.exp(logP).mul(logP.sub(tf.logSoftmax(qLogits))).sum(1).mean() as tf.Scalar;
  });
}

/**
 * Madry et al. 2018: each step trains on PGD adversarial examples (uniform random start in the eps
 * box, signed steps on the cross-entropy, crafted with the model in inference mode).
 */
export function pgdTraining(o: AdversarialTrainingOptions, seed = 0): TrainingObjective {
  const s = settings(o);
  return {
    name: `pgd ${s.text}`,
    prepare(net, x, y, step) {
      const [eps, stepSize, steps] = [s.eps * s.scale(step), s.stepSize * s.scale(step), s.steps];
      return [tf.tidy(() => {
        let at: tf.Tensor = tf.clipByValue(x.add(tf.randomUniform(x.shape, -eps, eps, 'float32', seed * 7919 + step)), 0, 1);
        const ce = (z: tf.Tensor) => classificationLoss(net.apply(z, { training: false }) as tf.Tensor, y, 0);
        for (let k = 0; k < steps; k++) at = ascend(x, at, eps, stepSize, ce);
        return at;
      })];
    },
    loss(net, _x, y, [adv], smoothing) {
      const logits = net.apply(adv, { training: true }) as tf.Tensor;
      return { loss: classificationLoss(logits, y, smoothing), logits };
    },
  };
}

/**
 * TRADES (Zhang et al. 2019): cross-entropy on the clean batch plus beta * KL(f(x) || f(x')), where
 * x' maximises that KL in the eps box (start x + 0.001 N(0, 1), signed steps), as in the paper's code.
 */
export function tradesTraining(o: AdversarialTrainingOptions, seed = 0): TrainingObjective {
  const s = settings(o);
  const beta = o.beta ?? 6;
  check(Number.isFinite(beta) && beta >= 0, `TRADES beta must be >= 0 (got ${beta})`);
  return {
    name: `trades ${s.text} beta=${beta}`,
    prepare(net, x, _y, step) {
      const [eps, stepSize, steps] = [s.eps * s.scale(step), s.stepSize * s.scale(step), s.steps];
      return [tf.tidy(() => {
        const clean = net.apply(x, { training: false }) as tf.Tensor;
        let at: tf.Tensor = tf.clipByValue(x.add(tf.randomNormal(x.shape, 0, 0.001, 'float32', seed * 7919 + step)), 0, 1);
        const kl = (z: tf.Tensor) => klDivergence(clean, net.apply(z, { training: false }) as tf.Tensor);
        for (let k = 0; k < steps; k++) at = ascend(x, at, eps, stepSize, kl);
        return at;
      })];
    },
    loss(net, x, y, [adv], smoothing) {
      const logits = net.apply(x, { training: true }) as tf.Tensor;
      const robust = klDivergence(logits, net.apply(adv, { training: true }) as tf.Tensor);
      return { loss: classificationLoss(logits, y, smoothing).add(robust.mul(beta)) as tf.Scalar, logits };
    },
  };
}

/** Adversarial training objectives by name, for `kiln train --adversarial`. */
export const ADVERSARIAL_TRAINING = { pgd: pgdTraining, trades: tradesTraining } as const;
