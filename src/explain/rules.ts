import { tf } from '../backend/index.js';
import type { LinearParams } from './graph.js';

/**
 * LRP rules for one linear layer (Zennit's design: small rules, composed by composites).
 * Each takes the layer input x and the relevance R of its output and returns the relevance of x.
 * All are "gradient of a modified forward pass": with z = f'(x') for modified parameters or inputs,
 * R_in = x' * d/dx' [ z . stop(R / z) ], which for a linear f' is x'_i * sum_j w'_ij R_j / z_j.
 */
export interface Rule {
  name: string;
  apply(layer: LinearParams, x: tf.Tensor, relevance: tf.Tensor): tf.Tensor;
}

/** R / z with 0 where z = 0 (iNNvestigate's SafeDivide). */
export function safeDivide(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const zero = tf.equal(b, 0);
  return tf.where(zero, tf.zerosLike(a), tf.div(a, tf.where(zero, tf.onesLike(b), b)));
}

/** x-side contribution: input * transpose-of-layer applied to s (the vector-Jacobian product). */
function backward(layer: LinearParams, w: tf.Tensor, x: tf.Tensor, s: tf.Tensor): tf.Tensor {
  const vjp = tf.grad((v: tf.Tensor) => layer.apply(v, w, null))(x, s);
  return tf.mul(x, vjp);
}

function positive(t: tf.Tensor): tf.Tensor {
  return tf.relu(t);
}

function negative(t: tf.Tensor): tf.Tensor {
  return tf.neg(tf.relu(tf.neg(t)));
}

/**
 * Epsilon rule: z + epsilon * sign(z) (sign(0) = +1) stabilises the division; epsilon = 0 is the
 * z rule (LRP-0) with a safe division. `bias` false drops the bias from z (the _IB variants), so
 * relevance is not absorbed by it.
 */
export function epsilonRule(epsilon: number, bias: boolean): Rule {
  return {
    name: epsilon === 0 ? `z(bias=${bias})` : `epsilon(${epsilon}, bias=${bias})`,
    apply: (layer, x, r) => {
      const z = layer.apply(x, layer.weight, bias ? layer.bias : null);
      const s = epsilon === 0
        ? safeDivide(r, z)
        : tf.div(r, tf.add(z, tf.mul(tf.sub(tf.mul(tf.cast(tf.greaterEqual(z, 0), 'float32'), 2), 1), epsilon)));
      return backward(layer, layer.weight, x, s);
    },
  };
}

/**
 * Alpha-beta rule: activating contributions (x+ w+ and x- w-, plus b+ with bias) get weight alpha,
 * inhibiting ones (x+ w- and x- w+, plus b-) weight beta; each part is normalised by its own sum.
 * Conserves relevance when alpha - beta = 1 and no bias absorbs it.
 */
export function alphaBetaRule(alpha: number, beta: number, bias: boolean): Rule {
  const part = (layer: LinearParams, wa: tf.Tensor, wb: tf.Tensor, b: tf.Tensor | null,
    xp: tf.Tensor, xn: tf.Tensor, r: tf.Tensor): tf.Tensor => {
    let z = tf.add(layer.apply(xp, wa, null), layer.apply(xn, wb, null));
    if (b) z = tf.add(z, b);
    const s = safeDivide(r, z);
    return tf.add(backward(layer, wa, xp, s), backward(layer, wb, xn, s));
  };
  return {
    name: `alpha_beta(${alpha}, ${beta}, bias=${bias})`,
    apply: (layer, x, r) => {
      const wp = positive(layer.weight);
      const wn = negative(layer.weight);
      const xp = positive(x);
      const xn = negative(x);
      const bp = bias && layer.bias ? positive(layer.bias) : null;
      const bn = bias && layer.bias ? negative(layer.bias) : null;
      const activator = part(layer, wp, wn, bp, xp, xn, r);
      if (beta === 0) return alpha === 1 ? activator : tf.mul(activator, alpha);
      const inhibitor = part(layer, wn, wp, bn, xp, xn, r);
      return tf.sub(tf.mul(activator, alpha), tf.mul(inhibitor, beta));
    },
  };
}

/** z+ for inputs known to be non-negative (after a ReLU): positive weights only, no bias. */
export function zPlusFastRule(): Rule {
  return {
    name: 'z_plus_fast',
    apply: (layer, x, r) => {
      const wp = positive(layer.weight);
      const s = safeDivide(r, layer.apply(x, wp, null));
      return backward(layer, wp, x, s);
    },
  };
}

/**
 * Rules that ignore the input: relevance is spread in proportion to a function of the weights
 * only (w^2 for w_square, 1 for flat), i.e. the backward map of the layer applied to ones.
 */
function inputFreeRule(name: string, weightOf: (w: tf.Tensor) => tf.Tensor): Rule {
  return {
    name,
    apply: (layer, x, r) => {
      const w = weightOf(layer.weight);
      const ones = tf.onesLike(x);
      const s = safeDivide(r, layer.apply(ones, w, null));
      return backward(layer, w, ones, s);
    },
  };
}

export const wSquareRule = (): Rule => inputFreeRule('w_square', (w) => tf.square(w));
export const flatRule = (): Rule => inputFreeRule('flat', (w) => tf.onesLike(w));

/**
 * Z^B (bounded) rule for an input layer whose inputs lie in [low, high]:
 * z = w x - w+ low - w- high; R_in = x * (w s) - low * (w+ s) - high * (w- s).
 */
export function boundedRule(low: number, high: number): Rule {
  return {
    name: `bounded(${low}, ${high})`,
    apply: (layer, x, r) => {
      const wp = positive(layer.weight);
      const wn = negative(layer.weight);
      const lo = tf.fill(x.shape, low);
      const hi = tf.fill(x.shape, high);
      const z = tf.sub(layer.apply(x, layer.weight, null),
        tf.add(layer.apply(lo, wp, null), layer.apply(hi, wn, null)));
      const s = safeDivide(r, z);
      return tf.sub(backward(layer, layer.weight, x, s), tf.add(backward(layer, wp, lo, s), backward(layer, wn, hi, s)));
    },
  };
}
