import { check } from '../../core/index.js';
import { nextSeed, tf } from '../../backend/index.js';
import { mlp } from '../../nn/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import { choiceSpace } from './choice-space.js';
import { uniquePrefix, type Supernet } from './supernet.js';

/** TabNAS's width choices (powers of two up to 512) for each hidden layer. */
export const MLP_WIDTHS = [8, 16, 32, 64, 128, 256, 512] as const;

/** MLP width space: one width decision per hidden layer; the text form is the widths, e.g. '64-32'. */
export function mlpWidthSpace(layers: number, widths: readonly number[] = MLP_WIDTHS): SearchSpace {
  check(Number.isInteger(layers) && layers >= 1 && layers <= 8, `an MLP width space needs 1 to 8 hidden layers (got ${layers})`);
  check(widths.length >= 2 && widths.every((w) => Number.isInteger(w) && w > 0), `MLP widths must be at least two positive integers`);
  return choiceSpace(`mlp${layers}`, `TabNAS MLP: ${layers} hidden ReLU layers, width of each in {${widths.join(', ')}}`,
    Array.from({ length: layers }, (_, i) => ({ name: `w${i + 1}`, choices: widths.map(String) })));
}

export function mlpWidths(space: SearchSpace, a: Architecture): number[] {
  return a.values.map((v, i) => Number(space.decisions[i].choices[v]));
}

/** Trainable parameters of inputs -> widths -> classes with biases: sum of in*out + out. */
export function mlpParams(inputs: number, widths: readonly number[], classes: number): number {
  const sizes = [inputs, ...widths, classes];
  let n = 0;
  for (let i = 0; i + 1 < sizes.length; i++) n += sizes[i] * sizes[i + 1] + sizes[i + 1];
  return n;
}

/**
 * The MLP supernet: one kernel and bias per layer at the widest choice; child (w1, ..., wL)
 * uses the leading w_i units of layer i, i.e. kernel slice [:w_{i-1}, :w_i]. Every child
 * shares the leading units with every wider one (TabNAS / TuNAS filter sharing).
 */
export function mlpSupernet(space: SearchSpace, inputs: number, classes: number): Supernet {
  const maxWidth = space.decisions.map((d) => Math.max(...d.choices.map(Number)));
  const sizes = [inputs, ...maxWidth, classes];
  const prefix = uniquePrefix('mlp_super');
  const kernels: tf.Variable[] = [];
  const biases: tf.Variable[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const init = tf.initializers.heNormal({ seed: nextSeed() });
    kernels.push(tf.variable(init.apply([sizes[i], sizes[i + 1]]) as tf.Tensor2D, true, `${prefix}kernel${i}`));
    biases.push(tf.variable(tf.zeros([sizes[i + 1]]), true, `${prefix}bias${i}`));
  }
  const childSizes = (a: Architecture) => [inputs, ...mlpWidths(space, a), classes];

  return {
    space,
    prefix,
    variables: [...kernels, ...biases],
    logits(x, a) {
      const s = childSizes(a);
      let h = x as tf.Tensor2D;
      for (let i = 0; i + 1 < s.length; i++) {
        const w = tf.slice(kernels[i], [0, 0], [s[i], s[i + 1]]);
        const b = tf.slice(biases[i], [0], [s[i + 1]]);
        h = tf.add(tf.matMul(h, w), b);
        if (i + 2 < s.length) h = tf.relu(h);
      }
      return h;
    },
    child(a) {
      const s = childSizes(a);
      const model = mlp({ inputs, hidden: s.slice(1, -1), outputs: classes });
      const weights = tf.tidy(() => s.slice(0, -1).flatMap((_, i) => [
        tf.slice(kernels[i], [0, 0], [s[i], s[i + 1]]), tf.slice(biases[i], [0], [s[i + 1]]),
      ]));
      model.setWeights(weights);
      tf.dispose(weights);
      return model;
    },
    costs: (a) => ({ params: mlpParams(inputs, mlpWidths(space, a), classes) }),
    dispose: () => tf.dispose([...kernels, ...biases]),
  };
}

/** Per-op features of an MLP child for a linear latency model: per layer, MACs and output width (in thousands). */
export function mlpLatencyFeatures(inputs: number, widths: readonly number[], classes: number): number[] {
  const sizes = [inputs, ...widths, classes];
  return sizes.slice(1).flatMap((out, i) => [(sizes[i] * out) / 1e3, out / 1e3]);
}
