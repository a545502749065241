import type { tf } from '../../backend/index.js';
import type { CostModel } from '../cost/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';

/** Per-step knobs of a forward pass through a supernet (warm-up path dropout, BN mode). */
export interface ForwardOptions {
  /** Batch statistics in BN (training) or the stored moving statistics (inference). */
  training?: boolean;
  /** TuNAS warm-up: probability of keeping each extra op / running the widest filters (0 = off). */
  warmupKeep?: number;
  /** Draws for path dropout, in [0, 1). */
  random?: () => number;
}

/**
 * A weight-sharing supernet: one variable set; child `a` is a slice/mask of it. `child(a)`
 * copies the child's weights into a standalone tfjs LayersModel (saved, exported to ONNX,
 * measured and loaded like any other model).
 */
export interface Supernet {
  readonly space: SearchSpace;
  /** Prefix of every variable name (unique in the process; tfjs variable names are global). */
  readonly prefix: string;
  readonly variables: tf.Variable[];
  /** Pre-softmax scores of child `a` on `x`. */
  logits(x: tf.Tensor, a: Architecture, opts?: ForwardOptions): tf.Tensor;
  child(a: Architecture): tf.LayersModel;
  /** Architecture-only costs, e.g. params and MFLOPs. */
  costs(a: Architecture): Record<string, number>;
  dispose(): void;
}

let supernets = 0;

/** A fresh variable-name prefix such as 'mlp_super3/'. */
export function uniquePrefix(kind: string): string {
  return `${kind}${supernets++}/`;
}

/** A supernet's architecture-only costs as cost models: a study's constraints and every trial's metrics. */
export function supernetCosts(net: Supernet): CostModel[] {
  const names = Object.keys(net.costs({ values: net.space.decisions.map(() => 0) }));
  return names.map((name) => ({ name, metric: name, cost: (a: Architecture) => net.costs(a)[name] }));
}
