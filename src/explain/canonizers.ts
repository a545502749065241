import { KilnError } from '../core/index.js';
import { tf } from '../backend/index.js';
import { consumers, type Graph, type GraphOp } from './graph.js';

/**
 * Canonizers (as in Zennit) rewrite a graph into an equivalent one on which the rules are well
 * defined: same function, different parameterisation.
 */
export type Canonizer = (graph: Graph) => Graph;

/** Drops the ops in `remove`, pointing their consumers at each removed op's first input; renumbers. */
function without(graph: Graph, remove: Set<number>, replace: Map<number, GraphOp> = new Map()): Graph {
  const target = (id: number): number => (remove.has(id) ? target(graph.ops[id].inputs[0]) : id);
  const newId = new Map<number, number>();
  const ops: GraphOp[] = [];
  for (const old of graph.ops) {
    if (remove.has(old.id)) continue;
    const op = replace.get(old.id) ?? old;
    newId.set(old.id, ops.length);
    ops.push({ ...op, id: ops.length, inputs: op.inputs.map((i) => newId.get(target(i))!) });
  }
  return { ...graph, ops };
}

/**
 * Folds an inference-mode BatchNormalization into the Dense/Conv2D/DepthwiseConv2D right before it
 * (when that layer has no activation and feeds only the BN): W' = W * scale, b' = b * scale + shift.
 * LRP rules then see one linear layer, so BN's shift is treated as the layer's bias.
 */
export const mergeBatchNorm: Canonizer = (graph) => {
  const users = consumers(graph);
  const remove = new Set<number>();
  const replace = new Map<number, GraphOp>();
  for (const bn of graph.ops) {
    if (bn.className !== 'BatchNormalization' || !bn.linear) continue;
    const prev = graph.ops[bn.inputs[0]];
    if (!prev.linear || prev.linear.kind === 'affine' || users[prev.id].length !== 1) continue;
    const { kind, weight, bias, apply } = prev.linear;
    const scale = bn.linear.weight;
    const shift = bn.linear.bias!;
    const folded = tf.tidy(() => {
      const s = kind === 'depthwise' ? tf.reshape(scale, weight.shape.slice(2)) : scale;
      const w = tf.mul(weight, s);
      const b = tf.add(bias ? tf.mul(bias, scale) : tf.zerosLike(shift), shift);
      return [w, b];
    });
    const [w, b] = folded;
    replace.set(prev.id, {
      ...prev,
      layerName: `${prev.layerName}+${bn.layerName}`,
      forward: ([x]) => apply(x, w, b),
      linear: { ...prev.linear, weight: w, bias: b },
    });
    tf.dispose([weight, ...(bias ? [bias] : []), scale, shift]);
    remove.add(bn.id);
  }
  return remove.size ? without(graph, remove, replace) : graph;
};

/** The output op's softmax, if the model ends in one. */
export function finalSoftmax(graph: Graph): GraphOp | null {
  const last = graph.ops[graph.ops.length - 1];
  return last.type === 'activation' && last.activation === 'softmax' ? last : null;
}

/**
 * Attribution methods explain a score, not a normalised probability (softmax couples all classes
 * and saturates), so a final softmax is refused unless the caller asks for it to be removed.
 */
export function handleSoftmax(graph: Graph, strip: boolean): Graph {
  const softmax = finalSoftmax(graph);
  if (!softmax) return graph;
  if (!strip) {
    throw new KilnError(`the model ends in a softmax (layer '${softmax.layerName}'); explanations are taken on ` +
      `pre-softmax scores: pass the option stripSoftmax: true (CLI: --strip-softmax) to analyze the logits`);
  }
  return without(graph, new Set([softmax.id]));
}
