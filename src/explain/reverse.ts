import { tf } from '../backend/index.js';
import { forwardAll, type Graph, type GraphOp } from './graph.js';
import { safeDivide, type Rule } from './rules.js';

/**
 * The reverse pass shared by every propagation method (gradient, deconvnet, guided backprop, LRP,
 * DeepTaylor, PatternNet): recompute and keep the forward activations, then walk the ops from the
 * output back to the input, each op mapping the signal at its output to signals at its inputs.
 * Signals from several consumers of one tensor are summed (gradients and relevances both add).
 */
export type ReverseMapping = (op: GraphOp, inputs: tf.Tensor[], output: tf.Tensor, signal: tf.Tensor) => tf.Tensor[];

/** Chooses the mapping for each op; called once per op per pass. */
export type Mapper = (op: GraphOp, graph: Graph) => ReverseMapping;

export interface ReverseStart {
  /** Builds the signal at the output from the output activation (e.g. one-hot, or the selected score). */
  (output: tf.Tensor): tf.Tensor;
}

export function reversePass(graph: Graph, x: tf.Tensor, start: ReverseStart, mapper: Mapper): tf.Tensor {
  return tf.tidy(() => {
    const acts = forwardAll(graph, x);
    const last = graph.ops.length - 1;
    const signals: (tf.Tensor | undefined)[] = [];
    signals[last] = start(acts[last]);
    for (let id = last; id > 0; id--) {
      const op = graph.ops[id];
      const signal = signals[id];
      if (!signal) continue;
      const inputs = op.inputs.map((i) => acts[i]);
      const back = mapper(op, graph)(op, inputs, acts[id], signal);
      op.inputs.forEach((i, k) => {
        const prev = signals[i];
        signals[i] = prev ? tf.add(prev, back[k]) : back[k];
      });
    }
    return signals[0] ?? tf.zerosLike(x);
  });
}

/** The vector-Jacobian product of the op: the plain gradient. */
export const gradientMapping: ReverseMapping = (op, inputs, _output, signal) => {
  if (op.type === 'activation' && op.activation === 'linear') return [signal];
  return tf.grads((...xs: tf.Tensor[]) => op.forward(xs))(inputs, signal);
};

/** Relevance passes an elementwise activation unchanged (iNNvestigate). */
export const passMapping: ReverseMapping = (_op, _inputs, _output, signal) => [signal];

/** Applies an LRP rule to a linear op. */
export function ruleMapping(rule: Rule): ReverseMapping {
  return (op, inputs, _output, signal) => [rule.apply(op.linear!, inputs[0], signal)];
}

/** z rule without weights: average pooling redistributes relevance in proportion to each input. */
export const poolMapping: ReverseMapping = (op, inputs, output, signal) => {
  const s = safeDivide(signal, output);
  const vjp = tf.grad((x: tf.Tensor) => op.forward([x]))(inputs[0], s);
  return [tf.mul(inputs[0], vjp)];
};

/** A residual sum splits relevance in proportion to each summand's contribution (z rule). */
export const addMapping: ReverseMapping = (_op, inputs, output, signal) => {
  const s = safeDivide(signal, output);
  return inputs.map((x) => tf.mul(x, s));
};

/**
 * The LRP mapper: linear ops get the composite's rule, pooling and sums the z rule, activations
 * pass relevance through, and routing ops (flatten, reshape, concat, max pooling) follow the
 * gradient, which for max pooling sends all relevance to the winning input.
 */
export function lrpMapper(ruleFor: (op: GraphOp, graph: Graph) => Rule): Mapper {
  return (op, graph) => {
    switch (op.type) {
      case 'linear': return ruleMapping(ruleFor(op, graph));
      case 'pool': return poolMapping;
      case 'add': return addMapping;
      case 'activation': return passMapping;
      default: return gradientMapping;
    }
  };
}

/** Linear ops reached from the input through routing ops only (iNNvestigate's "input layers"). */
export function isInputLayer(op: GraphOp, graph: Graph): boolean {
  if (op.type !== 'linear') return false;
  const reachesInput = (id: number): boolean => {
    const o = graph.ops[id];
    if (o.type === 'input') return true;
    return o.type === 'route' && o.className !== 'MaxPooling2D' && o.inputs.every(reachesInput);
  };
  return op.inputs.every(reachesInput);
}
