import type { Rng } from '../../core/index.js';

/** One named categorical choice of a search space (an edge's op, an edge's presence, a width). */
export interface Decision {
  readonly name: string;
  readonly choices: readonly string[];
}

/**
 * An architecture is one assignment of the space's decisions: `values[i]` indexes
 * `space.decisions[i].choices`. Plain data, so it serializes and compares cheaply.
 */
export interface Architecture {
  readonly values: readonly number[];
}

/**
 * A cell as a DAG with op features on nodes (the Neural Predictor's GCN input):
 * `adjacency[i * nodes + j] = 1` for an edge i -> j, `features[i * featureNames.length + k]` one-hot.
 */
export interface CellGraph {
  readonly nodes: number;
  readonly adjacency: Float32Array;
  readonly features: Float32Array;
  readonly featureNames: readonly string[];
}

export interface SearchSpace {
  readonly name: string;
  readonly description: string;
  readonly decisions: readonly Decision[];
  /** A uniformly random valid architecture. */
  sample(rng: Rng): Architecture;
  /** A valid architecture that differs from `a` in exactly one decision. */
  mutate(a: Architecture, rng: Rng): Architecture;
  /** Whether `a` is a legal member of the space (e.g. NAS-Bench-101's edge limit). */
  isValid(a: Architecture): boolean;
  /** One-hot over every decision's choices, concatenated in decision order. */
  encode(a: Architecture): Float32Array;
  /** Cell DAG with node op features. */
  graph(a: Architecture): CellGraph;
  /** The space's canonical text form; `parse(toString(a))` gives `a` back. */
  toString(a: Architecture): string;
  /** Reads the text form; KilnError on a malformed or invalid string. */
  parse(s: string): Architecture;
  /** Identity for dedup and table lookup: equal keys mean the same network. */
  key(a: Architecture): string;
  /**
   * Reads a record of a JSON benchmark table in the space's own cell form (NAS-Bench-101's
   * adjacency + ops); absent when the space's tables name architectures by `toString` only.
   */
  fromRecord?(record: Readonly<Record<string, unknown>>): Architecture;
}
