import { tf } from '../backend/index.js';
import type { LinearParams } from './graph.js';

/**
 * LRP rules for one linear layer (Zennit's design: small rules, composed by composites).
 * Each takes the layer input x and the relevance R of its output and returns the relevance of x.
 * All are "gradient of a modified forward pass": with z = f'(x') for modified parameters or inputs,
 * R_in = x' * d/dx' [ z . stop(R / z) ], which for a linear f' is x'_i * sum_j w'_ij R_j / z_j.
 * A custom rule is an object of this shape; `inputTimesVjp` and `stabilizedDivide` are its parts.
 *
 * Bias conventions (where Zennit and iNNvestigate differ, Kiln follows Zennit; README "Explain:
 * composites, rules and bias conventions", tested in test/explain-extend.test.ts):
 * - alpha-beta with bias: b+ joins the activating denominator and b- the inhibiting one (Zennit's
 *   AlphaBeta and ZPlus); iNNvestigate's AlphaBetaRule puts the whole b in both.
 * - w_square with bias: b^2 joins the denominator (Zennit's WSquare); iNNvestigate has no bias, which
 *   stays the default.
 * - stabilizer of the non-epsilon rules: optional, added with the sign of z as Zennit does; the
 *   default 0 is iNNvestigate's safe division (0 where z = 0).
 * - the same in both: epsilon (bias in z, sign(0) = +1), flat (no bias), bounded (no bias: it
 *   cancels in Zennit's ZBox, iNNvestigate drops it).
 * - gamma is Zennit's only (iNNvestigate has no gamma rule), with its bias handling.
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

/**
 * R / (z + stabilizer * sign(z)) with sign(0) = +1 (Zennit's Stabilizer, the epsilon rule's
 * denominator); stabilizer 0 is the safe division, so rules without one keep iNNvestigate's results.
 */
export function stabilizedDivide(a: tf.Tensor, b: tf.Tensor, stabilizer = 0): tf.Tensor {
  if (stabilizer === 0) return safeDivide(a, b);
  const sign = tf.sub(tf.mul(tf.cast(tf.greaterEqual(b, 0), 'float32'), 2), 1);
  return tf.div(a, tf.add(b, tf.mul(sign, stabilizer)));
}

/**
 * x * (W'^T s): the input times the vector-Jacobian product of the layer with weight `w` (no bias),
 * the redistribution step shared by every rule ("gradient times input" on the modified layer).
 */
export function inputTimesVjp(layer: LinearParams, w: tf.Tensor, x: tf.Tensor, s: tf.Tensor): tf.Tensor {
  const vjp = tf.grad((v: tf.Tensor) => layer.apply(v, w, null))(x, s);
  return tf.mul(x, vjp);
}

/** Options of the rules other than epsilon (Zennit's `stabilizer` argument). */
export interface StabilizerOptions {
  /** Added with the sign of each denominator (0 = safe division, the default). */
  stabilizer?: number;
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
      return inputTimesVjp(layer, layer.weight, x, stabilizedDivide(r, z, epsilon));
    },
  };
}

function stabilizerSuffix(opts: StabilizerOptions): string {
  return opts.stabilizer ? `, stabilizer=${opts.stabilizer}` : '';
}

/**
 * Alpha-beta rule: activating contributions (x+ w+ and x- w-) get weight alpha, inhibiting ones
 * (x+ w- and x- w+) weight beta; each part is normalised by its own sum. With `bias`, the bias is
 * split by sign as in Zennit: b+ joins the activating sum and b- the inhibiting one (iNNvestigate
 * adds the whole b to both). Conserves relevance when alpha - beta = 1 and no bias absorbs it.
 */
export function alphaBetaRule(alpha: number, beta: number, bias: boolean, opts: StabilizerOptions = {}): Rule {
  const stabilizer = opts.stabilizer ?? 0;
  const part = (layer: LinearParams, wa: tf.Tensor, wb: tf.Tensor, b: tf.Tensor | null,
    xp: tf.Tensor, xn: tf.Tensor, r: tf.Tensor): tf.Tensor => {
    let z = tf.add(layer.apply(xp, wa, null), layer.apply(xn, wb, null));
    if (b) z = tf.add(z, b);
    const s = stabilizedDivide(r, z, stabilizer);
    return tf.add(inputTimesVjp(layer, wa, xp, s), inputTimesVjp(layer, wb, xn, s));
  };
  return {
    name: `alpha_beta(${alpha}, ${beta}, bias=${bias}${stabilizerSuffix(opts)})`,
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
export function zPlusFastRule(opts: StabilizerOptions = {}): Rule {
  return {
    name: `z_plus_fast${opts.stabilizer ? `(stabilizer=${opts.stabilizer})` : ''}`,
    apply: (layer, x, r) => {
      const wp = positive(layer.weight);
      const s = stabilizedDivide(r, layer.apply(x, wp, null), opts.stabilizer);
      return inputTimesVjp(layer, wp, x, s);
    },
  };
}

/**
 * Rules that ignore the input: relevance is spread in proportion to a function of the weights
 * only (w^2 for w_square, 1 for flat), i.e. the backward map of the layer applied to ones.
 * `biasOf` (w_square with bias) adds a modified bias to the denominator, where it absorbs relevance.
 */
function inputFreeRule(name: string, weightOf: (w: tf.Tensor) => tf.Tensor,
  biasOf: ((b: tf.Tensor) => tf.Tensor) | null, opts: StabilizerOptions): Rule {
  return {
    name,
    apply: (layer, x, r) => {
      const w = weightOf(layer.weight);
      const ones = tf.onesLike(x);
      const b = biasOf && layer.bias ? biasOf(layer.bias) : null;
      const s = stabilizedDivide(r, layer.apply(ones, w, b), opts.stabilizer);
      return inputTimesVjp(layer, w, ones, s);
    },
  };
}

export interface WSquareOptions extends StabilizerOptions {
  /** Add b^2 to the denominator, as Zennit's WSquare does (default false: no bias, as iNNvestigate). */
  bias?: boolean;
}

export function wSquareRule(opts: WSquareOptions = {}): Rule {
  const bias = opts.bias === true;
  const name = bias || opts.stabilizer ? `w_square(bias=${bias}${stabilizerSuffix(opts)})` : 'w_square';
  return inputFreeRule(name, (w) => tf.square(w), bias ? (b) => tf.square(b) : null, opts);
}

/** Flat rule: all weights one, the bias ignored (in both Zennit and iNNvestigate). */
export function flatRule(opts: StabilizerOptions = {}): Rule {
  return inputFreeRule(`flat${opts.stabilizer ? `(stabilizer=${opts.stabilizer})` : ''}`, (w) => tf.onesLike(w), null, opts);
}

/**
 * Z^B (bounded) rule for an input layer whose inputs lie in [low, high]:
 * z = w x - w+ low - w- high; R_in = x * (w s) - low * (w+ s) - high * (w- s).
 * No bias: in Zennit's ZBox the bias enters all three terms and cancels, in iNNvestigate it is dropped.
 */
export function boundedRule(low: number, high: number, opts: StabilizerOptions = {}): Rule {
  return {
    name: `bounded(${low}, ${high}${stabilizerSuffix(opts)})`,
    apply: (layer, x, r) => {
      const wp = positive(layer.weight);
      const wn = negative(layer.weight);
      const lo = tf.fill(x.shape, low);
      const hi = tf.fill(x.shape, high);
      const z = tf.sub(layer.apply(x, layer.weight, null),
        tf.add(layer.apply(lo, wp, null), layer.apply(hi, wn, null)));
      const s = stabilizedDivide(r, z, opts.stabilizer);
      return tf.sub(inputTimesVjp(layer, layer.weight, x, s), tf.add(inputTimesVjp(layer, wp, lo, s), inputTimesVjp(layer, wn, hi, s)));
    },
  };
}

export interface GammaOptions extends StabilizerOptions {
  /** Keep the (modified) bias in the denominators, as Zennit does (default true). */
  bias?: boolean;
}

/**
 * Generalized gamma rule (Zennit's Gamma; Montavon et al. 2019 for non-negative inputs): weights of
 * the sign that supports the output are boosted by gamma. Where the output z = w x + b is positive,
 * relevance follows the positive contributions with (w + gamma w+) on x+ and (w + gamma w-) on x-,
 * their bias b + gamma b+; where z is negative, the negative ones with (w + gamma w-) on x+ and
 * (w + gamma w+) on x-, bias b + gamma b-. gamma = 0 is the z rule, large gamma tends to z+.
 */
export function gammaRule(gamma: number, opts: GammaOptions = {}): Rule {
  const bias = opts.bias ?? true;
  return {
    name: `gamma(${gamma}${bias ? '' : ', bias=false'}${stabilizerSuffix(opts)})`,
    apply: (layer, x, r) => {
      const wUp = tf.add(layer.weight, tf.mul(positive(layer.weight), gamma));
      const wDown = tf.add(layer.weight, tf.mul(negative(layer.weight), gamma));
      const b = bias ? layer.bias : null;
      const bUp = b ? tf.add(b, tf.mul(positive(b), gamma)) : null;
      const bDown = b ? tf.add(b, tf.mul(negative(b), gamma)) : null;
      const xp = positive(x);
      const xn = negative(x);
      // The branch follows the sign of the layer's real output, bias included even when `bias` is false (as Zennit).
      const z = layer.apply(x, layer.weight, layer.bias);
      const part = (wForXp: tf.Tensor, wForXn: tf.Tensor, partBias: tf.Tensor | null, where: tf.Tensor): tf.Tensor => {
        const zPart = tf.add(layer.apply(xp, wForXp, partBias), layer.apply(xn, wForXn, null));
        const s = tf.mul(tf.cast(where, 'float32'), stabilizedDivide(r, zPart, opts.stabilizer));
        return tf.add(inputTimesVjp(layer, wForXp, xp, s), inputTimesVjp(layer, wForXn, xn, s));
      };
      return tf.add(part(wUp, wDown, bUp, tf.greater(z, 0)), part(wDown, wUp, bDown, tf.less(z, 0)));
    },
  };
}

/**
 * Relevance passes the layer unchanged (Zennit's Pass, which its composites use for a standalone
 * batch normalization); only for layers whose output has the input's shape.
 */
export function passRule(): Rule {
  return { name: 'pass', apply: (_layer, _x, r) => r };
}
