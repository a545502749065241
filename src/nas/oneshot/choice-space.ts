import { KilnError, type Rng } from '../../core/index.js';
import type { Architecture, CellGraph, Decision, SearchSpace } from '../space/index.js';
import { flipOneDecision, oneHot, uniformValues } from '../space/common.js';

/**
 * A space of independent categorical decisions whose text form is the chosen labels joined by
 * '-' in decision order (e.g. '64-32' for an MLP's widths). Every assignment is valid. The graph
 * form is a chain with one node per decision, featuring the one-hot of its choice.
 */
export function choiceSpace(name: string, description: string, decisions: readonly Decision[]): SearchSpace {
  for (const d of decisions) {
    if (d.choices.some((c) => c.includes('-') || c === '')) throw new KilnError(`space '${name}': choice labels may not be empty or contain '-'`);
  }
  const featureNames = decisions.flatMap((d) => d.choices.map((c) => `${d.name}=${c}`));
  const toString = (a: Architecture) => a.values.map((v, i) => decisions[i].choices[v]).join('-');
  return {
    name,
    description,
    decisions,
    sample: (rng: Rng) => ({ values: uniformValues(decisions, rng) }),
    mutate: (a, rng) => flipOneDecision(decisions, a, rng),
    isValid: (a) => a.values.length === decisions.length && a.values.every((v, i) => Number.isInteger(v) && v >= 0 && v < decisions[i].choices.length),
    encode: (a) => oneHot(decisions, a),
    graph(a): CellGraph {
      const n = decisions.length;
      const adjacency = new Float32Array(n * n);
      for (let i = 0; i + 1 < n; i++) adjacency[i * n + i + 1] = 1;
      const features = new Float32Array(n * featureNames.length);
      const code = oneHot(decisions, a);
      // Node i carries only its own decision's slice of the one-hot code.
      let offset = 0;
      decisions.forEach((d, i) => {
        for (let k = 0; k < d.choices.length; k++) features[i * featureNames.length + offset + k] = code[offset + k];
        offset += d.choices.length;
      });
      return { nodes: n, adjacency, features, featureNames };
    },
    toString,
    parse(s) {
      const parts = s.trim().split('-');
      if (parts.length !== decisions.length) {
        throw new KilnError(`'${s}' is not a ${name} architecture: expected ${decisions.length} '-'-separated choices (${decisions.map((d) => d.name).join('-')})`);
      }
      return {
        values: parts.map((p, i) => {
          const v = decisions[i].choices.indexOf(p);
          if (v < 0) throw new KilnError(`'${p}' is not a choice of ${decisions[i].name} in ${name} (choices: ${decisions[i].choices.join(', ')})`);
          return v;
        }),
      };
    },
    key: toString,
  };
}
